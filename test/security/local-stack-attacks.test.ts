// The local stack beside a web browser (docs/local.md "What listens, and who may talk to it"). `npm start` runs
// with its key in a file, against an emulator that holds no execution; then, as an attacker would: a page in
// headless Chromium, served from another loopback port, submits forms and no-cors fetches to every local
// service; requests with a foreign Host, an Origin, no or wrong credentials are sent straight to each. Nothing
// may change: no message, no object, no table, no execution; and the key is in no process's arguments.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListBucketsCommand, ListObjectsCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_S3_SETTINGS } from '#local/aws/local-aws-servers';
import { createEmulator, type Emulator } from '#local/emulator/index';
import { launchChromium } from '../browser/support/chromium';
import { type StartedStack, startNpmStart, waitFor } from '../support/local-stack-process';

const KEY = 'pl-security-suite-3f9a1c7e5d2b8a40';
let emulator: Emulator;
let dataDir: string;
let stack: StartedStack;
let jobId: string;

beforeAll(async () => {
  // No execution to sync: whatever appears in the stores afterwards was put there by an attack.
  emulator = createEmulator({ apiKey: KEY, demo: { seed: 3, executions: 0 } });
  await emulator.start();
  jobId = emulator.addJob({ title: 'Import prices', kind: 'no-files' }).id;
  dataDir = await mkdtemp(join(tmpdir(), 'plsync-security-'));
  const keyFile = join(dataDir, 'api-key');
  await writeFile(keyFile, `${KEY}\n`, { mode: 0o600 });
  const { PRODUCT_LIVE_API_KEY: _none, ...inherited } = process.env;
  // A recent start date keeps the first run's completeness audit to a month or two of counts.
  const env = { ...inherited, SYNC_START_DATE: new Date(Date.now() - 86_400_000).toISOString() };
  stack = await startNpmStart(
    dataDir,
    ['--api-url', emulator.url, '--api-key-file', keyFile, '--every', '1h', '--ui-port', '0'],
    env,
  );
  // The first sync has run (nothing to find) before anything is attacked.
  await waitFor(() => /events \d+ published/.test(stack.process.output().stdout), 120_000);
});

afterAll(async () => {
  await stack?.stop();
  await emulator?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

function clients(credentials = stack.state.credentials) {
  const common = { region: stack.state.region, credentials: { ...credentials } };
  return {
    dynamo: new DynamoDBClient({ ...common, endpoint: stack.state.endpoints.dynamodb }),
    s3: new S3Client({ ...common, ...LOCAL_S3_SETTINGS, endpoint: stack.state.endpoints.s3 }),
    sqs: new SQSClient({ ...common, endpoint: stack.state.endpoints.sqs }),
  };
}

/** Everything an attack could change: tables, objects, messages waiting, executions in the API. */
async function snapshot() {
  const { dynamo, s3, sqs } = clients();
  const tables = (await dynamo.send(new ListTablesCommand({}))).TableNames ?? [];
  const buckets =
    (await s3.send(new ListBucketsCommand({}))).Buckets?.map((bucket) => bucket.Name ?? '') ?? [];
  const objects: string[] = [];
  for (const bucket of buckets) {
    const listed = await s3.send(new ListObjectsCommand({ Bucket: bucket }));
    objects.push(
      ...(listed.Contents ?? [])
        .map((object) => `${bucket}/${object.Key}`)
        // The stack's own sync runs are kept and written to the lake's sync_runs as they happen: not a change
        // an attack made (a forged object is looked for by name below).
        .filter((key) => !key.includes('/lake/sync_runs/')),
    );
  }
  const messages: Record<string, string> = {};
  for (const queueUrl of [stack.state.queues.launchUrl, stack.state.queues.dlqUrl]) {
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    messages[queueUrl] = JSON.stringify(attributes.Attributes);
  }
  dynamo.destroy();
  s3.destroy();
  sqs.destroy();
  return { tables, buckets, objects, messages, executions: emulator.executions().length };
}

/** A raw HTTP request, with headers of our choosing (fetch forbids setting Host). */
function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string },
) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const target = new URL(url);
    const outgoing = request(
      {
        hostname: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: options.method ?? 'POST',
        headers: options.headers ?? {},
      },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

/** The attacker's page: forms submitted into frames, and no-cors and CORS fetches, at every service. */
function attackPage(): string {
  const { endpoints, queues, lakeBucket = 'product-live-lake' } = stack.state;
  const message = JSON.stringify({ jobId, input: { from: 'a web page' } });
  const sqsForm = new URLSearchParams({
    Action: 'SendMessage',
    QueueUrl: queues.launchUrl,
    MessageBody: message,
  });
  const forged = 'lake/executions/day=2026-01-01/forged.parquet';
  return `<!doctype html><html><body>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe><iframe name="sink3"></iframe><iframe name="sink4"></iframe>
<form id="sqs" method="POST" target="sink1" action="${endpoints.sqs}/">
  ${[...sqsForm].map(([name, value]) => `<input type="hidden" name="${name}" value='${value}'>`).join('')}
</form>
<form id="s3" method="POST" target="sink2" enctype="multipart/form-data" action="${endpoints.s3}/${lakeBucket}">
  <input type="hidden" name="key" value="${forged}"><input type="hidden" name="file" value="forged">
</form>
<form id="dynamo" method="POST" target="sink3" enctype="text/plain" action="${endpoints.dynamodb}/">
  <input type="hidden" name='{"TableName":"forged","AttributeDefinitions":[],"x":"' value='"}'>
</form>
<form id="emulator" method="POST" target="sink4" enctype="text/plain" action="${endpoints.productLive}/v1/data_factory/job_executions">
  <input type="hidden" name='{"jobId":"${jobId}","x":"' value='"}'>
</form>
<script>
(async () => {
  const results = [];
  const attempt = async (name, run) => {
    try { await run(); results.push(name + ': sent'); } catch (error) { results.push(name + ': ' + error.message); }
  };
  for (const id of ['sqs', 's3', 'dynamo', 'emulator']) document.getElementById(id).submit();
  await attempt('sqs no-cors', () => fetch(${JSON.stringify(`${endpoints.sqs}/`)}, {
    method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: ${JSON.stringify(sqsForm.toString())} }));
  await attempt('sqs cors', () => fetch(${JSON.stringify(`${endpoints.sqs}/`)}, {
    method: 'POST', headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'AmazonSQS.SendMessage' },
    body: JSON.stringify({ QueueUrl: ${JSON.stringify(queues.launchUrl)}, MessageBody: ${JSON.stringify(message)} }) }));
  const form = new FormData();
  form.append('key', ${JSON.stringify(forged.replace('forged', 'forged-fetch'))});
  form.append('file', new Blob(['forged']));
  await attempt('s3 no-cors', () => fetch(${JSON.stringify(`${endpoints.s3}/${lakeBucket}`)}, { method: 'POST', mode: 'no-cors', body: form }));
  await attempt('dynamodb no-cors', () => fetch(${JSON.stringify(`${endpoints.dynamodb}/`)}, {
    method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' },
    body: JSON.stringify({ TableName: 'forged' }) }));
  await attempt('dynamodb cors', () => fetch(${JSON.stringify(`${endpoints.dynamodb}/`)}, {
    method: 'POST', headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'DynamoDB_20120810.CreateTable' },
    body: JSON.stringify({ TableName: 'forged' }) }));
  await attempt('emulator no-cors', () => fetch(${JSON.stringify(`${endpoints.productLive}/v1/data_factory/job_executions`)}, {
    method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ jobId: ${JSON.stringify(jobId)} }) }));
  await new Promise((resolve) => setTimeout(resolve, 1500));
  document.title = 'done';
  window.attackResults = results;
})();
</script></body></html>`;
}

describe('a web page on another loopback origin', () => {
  let page: Server;

  afterAll(() => new Promise<void>((resolve) => (page ? page.close(() => resolve()) : resolve())));

  it('changes nothing by forms or fetches at SQS, S3, DynamoDB and the emulator', async () => {
    const before = await snapshot();
    const html = attackPage();
    page = createServer((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'text/html' }).end(html);
    });
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    const browser = await launchChromium();
    try {
      const tab = await browser.newPage();
      await tab.goto(`http://127.0.0.1:${(page.address() as AddressInfo).port}/`);
      await tab.waitForFunction(() => document.title === 'done', undefined, { timeout: 60_000 });
    } finally {
      await browser.close();
    }
    // Long enough for the launcher to have polled the queue, had anything reached it.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const after = await snapshot();
    expect(after).toEqual(before);
    expect(after.objects.filter((key) => key.includes('forged'))).toEqual([]);
    expect(stack.process.output().stdout).not.toMatch(/launcher: \d+ message/);
  });
});

describe('requests that are not the stack own clients', () => {
  const services = () => Object.entries({ ...stack.state.endpoints }) as Array<[string, string]>;

  it('are refused with 403 when they carry an Origin, whatever else they carry', async () => {
    for (const [service, endpoint] of services()) {
      const answer = await rawRequest(`${endpoint}/`, {
        headers: { Origin: 'http://evil.example', 'X-Api-Key': KEY },
      });
      expect([service, answer.status]).toEqual([service, 403]);
    }
  });

  it('are refused with 403 when their Host is not this loopback port (DNS rebinding)', async () => {
    for (const [service, endpoint] of services()) {
      const port = new URL(endpoint).port;
      for (const host of [`evil.example:${port}`, `127.0.0.1:${Number(port) + 1}`, 'localhost']) {
        const answer = await rawRequest(`${endpoint}/`, { headers: { Host: host, 'X-Api-Key': KEY } });
        expect([service, host, answer.status]).toEqual([service, host, 403]);
      }
    }
  });

  it('are refused with 403 when unsigned, or signed with credentials that are not this run’s', async () => {
    const { dynamodb, s3, sqs } = stack.state.endpoints;
    for (const endpoint of [dynamodb, s3, sqs]) {
      expect((await rawRequest(`${endpoint}/`, { body: 'Action=ListQueues' })).status).toBe(403);
    }
    const wrongSecret = clients({ ...stack.state.credentials, secretAccessKey: 'not-the-secret' });
    const wrongKey = clients({
      accessKeyId: 'AKIAEXAMPLE',
      secretAccessKey: stack.state.credentials.secretAccessKey,
    });
    for (const forged of [wrongSecret, wrongKey]) {
      await expect(forged.dynamo.send(new ListTablesCommand({}))).rejects.toMatchObject({
        name: 'AccessDeniedException',
      });
      await expect(forged.s3.send(new ListBucketsCommand({}))).rejects.toMatchObject({
        name: 'AccessDenied',
      });
      await expect(forged.sqs.send(new ListQueuesCommand({}))).rejects.toMatchObject({
        name: 'AccessDenied',
      });
    }
  });

  it('while the stack own clients and the AWS CLI with the printed credentials are answered', async () => {
    const own = clients();
    expect((await own.dynamo.send(new ListTablesCommand({}))).TableNames).toContain(
      stack.state.tables.executions,
    );
    expect((await own.sqs.send(new ListQueuesCommand({}))).QueueUrls).toContain(stack.state.queues.launchUrl);
    const exports = /export (AWS_ACCESS_KEY_ID=.*)$/m.exec(stack.process.output().stdout)?.[1] ?? '';
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
    for (const assignment of exports.split(' ')) {
      const [name, ...value] = assignment.split('=');
      if (name) env[name] = value.join('=');
    }
    expect(env.AWS_SECRET_ACCESS_KEY).toBe(stack.state.credentials.secretAccessKey);
    const aws = (args: string[]) => promisify(execFile)('aws', args, { env }).then(({ stdout }) => stdout);
    expect(
      await aws(['--endpoint-url', stack.state.endpoints.dynamodb, 'dynamodb', 'list-tables']),
    ).toContain(stack.state.tables.executions);
    expect(await aws(['--endpoint-url', stack.state.endpoints.s3, 's3', 'ls'])).toContain(stack.state.bucket);
    expect(await aws(['--endpoint-url', stack.state.endpoints.sqs, 'sqs', 'list-queues'])).toContain(
      stack.state.queues.launchUrl,
    );
  });
});

describe('the API key', () => {
  it('is in no process argument list of npm start given --api-key-file', async () => {
    const { stdout } = await promisify(execFile)('ps', ['-eww', '-o', 'pid=,args=']);
    expect(stdout).toContain('--api-key-file');
    expect(stdout).not.toContain(KEY);
    for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      expect(cmdline.includes(KEY), `process ${pid}: ${cmdline.replaceAll('\0', ' ')}`).toBe(false);
    }
    const { stdout: printed, stderr } = stack.process.output();
    expect(`${printed}${stderr}`).not.toContain(KEY);
  });
});
