// Layer flow: domain constants. The defaults and limits that several places must agree on (the functions,
// the CDK stack, the local stack, the emulator), defined once and imported everywhere.

/** Product-Live's public API. */
export const DEFAULT_API_URL = 'https://api.product-live.com';
/** The find endpoint as the reference page spells it (no `/data_factory/` segment, unlike the others). */
export const DEFAULT_FIND_PATH = '/v1/job_executions/find';
/** The other spelling of the find path, tried once when the configured one answers 404. */
export const ALTERNATIVE_FIND_PATH = '/v1/data_factory/job_executions/find';
/** The executions endpoints (create, get, list). */
export const EXECUTIONS_PATH = '/v1/data_factory/job_executions';

/** Product-Live's limit for one API key: every call of the deployment, both functions together. */
export const PRODUCT_LIVE_REQUESTS_PER_MINUTE_LIMIT = 50;
/** Per-request timeout of the Product-Live client, in seconds (PRODUCT_LIVE_TIMEOUT_SECONDS). */
export const PRODUCT_LIVE_TIMEOUT_SECONDS = 30;

/** An execution's raw JSON above this size lives in the files bucket, not in its DynamoDB item (400 KB max). */
export const MAX_INLINE_RAW_BYTES = 300_000;
/** Where the sync keeps file copies and offloaded execution JSON in the files bucket. */
export const FILES_KEY_PREFIX = 'executions/';

/**
 * The launch handler starts no Product-Live call once less than one request timeout plus this margin is left
 * in its invocation; the stack sizes the launch timeout with the same margin.
 */
export const LAUNCH_RESERVE_MARGIN_SECONDS = 5;
