// The environment both functions share: how to reach Product-Live (never the key itself, only the secret
// that holds it) and the executions table. One place, so that the two functions cannot drift apart.
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { type InfraConfig, PRODUCT_LIVE_TIMEOUT_SECONDS } from '../config';
import type { ApiKeySecret } from './api-key-secret';

/** PRODUCT_LIVE_* and EXECUTIONS_TABLE_NAME, as functions/core/config.ts reads them. */
export function productLiveEnvironment(
  config: InfraConfig,
  apiKey: ApiKeySecret,
  executionsTable: ITableV2,
): Record<string, string> {
  return {
    PRODUCT_LIVE_API_URL: config.productLiveApiUrl,
    PRODUCT_LIVE_FIND_PATH: config.productLiveFindPath,
    PRODUCT_LIVE_API_KEY_SECRET_ID: apiKey.secretId,
    PRODUCT_LIVE_TIMEOUT_SECONDS: String(PRODUCT_LIVE_TIMEOUT_SECONDS),
    EXECUTIONS_TABLE_NAME: executionsTable.tableName,
  };
}
