// Minimal typings for s3rver 3 (the package ships none): only what local-aws-servers.ts uses.
declare module 's3rver' {
  import type { IncomingMessage, Server, ServerResponse } from 'node:http';

  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: Array<{ name: string; configs?: Array<string | Buffer> }>;
  }

  export default class S3rver {
    constructor(options?: S3rverOptions);
    httpServer?: Server;
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
    reset(): void;
    /** The Koa request handler, for a server of the caller's own (s3rver is a Koa application). */
    callback(): (request: IncomingMessage, response: ServerResponse) => Promise<void>;
  }
}
