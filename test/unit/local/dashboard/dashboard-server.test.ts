// The dashboard's HTTP adapter with fake views: read-only methods, loopback Host only, security headers, JSON
// that cannot be sniffed as HTML, downloads only by recorded index, and the bundled client within its budget.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutionNotFoundError } from '#core/history/history.errors';
import { buildDashboardAssets, type DashboardAssets } from '#local/dashboard/dashboard-assets';
import { DashboardRequestError } from '#local/dashboard/dashboard-routes';
import {
  attachment,
  createDashboardHandler,
  type DashboardViews,
  startDashboardServer,
  toSafeJson,
} from '#local/dashboard/dashboard-server';
import { VIEWS } from '#local/dashboard/site-map';

const ID = '658445e23ad5b929948ab731';
const HOSTILE_TITLE = '</script><script>alert(1)</script>';
const FILE_BYTES = Buffer.from('report,rows\nA,1\n');

/** Views that answer from constants, and say which download they were asked for. */
function fakeViews(): DashboardViews & { downloads: Array<[string, number]> } {
  const downloads: Array<[string, number]> = [];
  // Every other view (those of site-map.ts that this test does not ask for) refuses.
  const unused = Object.fromEntries(
    Object.keys(VIEWS).map((view) => [view, () => Promise.reject(new Error('not used by this test'))]),
  ) as unknown as DashboardViews;
  return {
    ...unused,
    downloads,
    version: async () => ({ version: 'v1' }),
    overview: async ({ filters }) =>
      ({ filters, stats: { jobs: [{ title: HOSTILE_TITLE }] } }) as unknown as Awaited<
        ReturnType<DashboardViews['overview']>
      >,
    execution: async ({ id }) => {
      throw new ExecutionNotFoundError(id, 'executions');
    },
    file: async ({ id, index }) => {
      downloads.push([id, index]);
      if (index !== 0) throw new DashboardRequestError(404, `execution ${id} has no file number ${index}`);
      return {
        fileName: 'report "final".csv',
        contentType: 'text/html',
        size: FILE_BYTES.byteLength,
        sha256: 'abc',
        body: Readable.from([FILE_BYTES]),
      };
    },
  };
}

let assets: DashboardAssets;
let views: ReturnType<typeof fakeViews>;
let server: Server;
let base: string;

beforeAll(async () => {
  assets = await buildDashboardAssets();
  views = fakeViews();
  server = createServer(
    createDashboardHandler({ data: views, assets, allowedHosts: () => new Set([hostOf()]) }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://${hostOf()}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function hostOf(): string {
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('dashboard server', () => {
  it('answers GET and HEAD only: the dashboard is read-only', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const response = await fetch(`${base}/api/version`, { method });
      expect(response.status, method).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
    }
    const head = await fetch(`${base}/api/version`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('refuses a request whose Host is not its loopback address (DNS rebinding)', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      request(`${base}/api/version`, { headers: { Host: 'attacker.example:4000' } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(403);
  });

  it('serves JSON with < > & escaped, so user data cannot close a script or form a tag', async () => {
    const response = await fetch(`${base}/api/overview?since=7d`);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const text = await response.text();
    expect(text).not.toContain('<');
    expect(text).not.toContain('>');
    expect(JSON.parse(text).stats.jobs[0].title).toBe(HOSTILE_TITLE);
    expect(toSafeJson({ a: 'x\u2028&y' })).toBe('{"a":"x\\u2028\\u0026y"}');
  });

  it('sends a Content-Security-Policy that allows only its own scripts and styles', async () => {
    const response = await fetch(`${base}/jobs/${ID}`);
    expect(response.status).toBe(200);
    const policy = response.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain('unsafe-inline');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
  });

  it('maps refusals to their status with a one-line reason', async () => {
    const bad = await fetch(`${base}/api/overview?since=soon`);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/^since must be an ISO date/);
    const missing = await fetch(`${base}/api/executions/${ID}`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).error).toBe(`no execution "${ID}" in table executions`);
  });

  it('downloads a recorded copy by index, as an attachment that the browser never renders', async () => {
    const response = await fetch(`${base}/api/executions/${ID}/files/0`);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(FILE_BYTES);
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="report _final_.csv"; filename*=UTF-8''report%20%22final%22.csv`,
    );
    expect(response.headers.get('content-security-policy')).toBe("sandbox; default-src 'none'");
    expect(response.headers.get('x-content-sha256')).toBe('abc');
    expect((await fetch(`${base}/api/executions/${ID}/files/7`)).status).toBe(404);
    expect(views.downloads).toEqual([
      [ID, 0],
      [ID, 7],
    ]);
  });

  it('refuses traversal without asking for any file', async () => {
    views.downloads.length = 0;
    const { request } = await import('node:http');
    const raw = (path: string) =>
      new Promise<number>((resolve, reject) => {
        // node:http sends the path as written (fetch would normalise it first).
        request({ host: '127.0.0.1', port: Number(hostOf().split(':')[1]), path }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
    expect(await raw(`/api/executions/${ID}/files/..%2F..%2Fpackage.json`)).toBe(400);
    expect(await raw(`/api/executions/${ID}/files/../../../../package.json`)).toBe(404);
    expect(await raw('/assets/../../package.json')).toBe(404);
    expect(await raw('/assets/%2e%2e%2fpackage.json')).toBe(404);
    expect(views.downloads).toEqual([]);
  });

  it('names a download safely whatever the recorded file name', () => {
    expect(attachment('../../etc/passwd')).toBe(`attachment; filename="passwd"; filename*=UTF-8''passwd`);
    expect(attachment('résumé;.pdf')).toBe(
      `attachment; filename="r_sum__.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%3B.pdf`,
    );
  });

  it('serves every asset from the package, gzipped, within 300 KB for the first load', async () => {
    const page = await fetch(`${base}/`);
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/assets/app.js"></script>');
    expect(html).not.toMatch(/https?:\/\//);
    let gzipped = gzipSync(Buffer.from(html)).byteLength;
    for (const name of ['app.js', 'app.css']) {
      const response = await fetch(`${base}/assets/${name}`, { headers: { 'Accept-Encoding': 'gzip' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-encoding')).toBe('gzip');
      const asset = assets.files.get(name);
      gzipped += asset?.gzip.byteLength ?? 0;
      expect(asset?.body.toString('utf8')).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
      const again = await fetch(`${base}/assets/${name}`, {
        headers: { 'If-None-Match': asset?.etag ?? '' },
      });
      expect(again.status).toBe(304);
    }
    expect(gzipped).toBeLessThan(300 * 1024);
  });

  it('listens on 127.0.0.1 only, and names a taken port', async () => {
    const first = await startDashboardServer({ data: views, assets, port: 0 });
    try {
      expect(first.url).toBe(`http://127.0.0.1:${first.port}`);
      await expect(startDashboardServer({ data: views, assets, port: first.port })).rejects.toMatchObject({
        name: 'PortInUseError',
        message: `Port ${first.port} for the dashboard is already in use: stop the process using it or choose another port.`,
      });
    } finally {
      await first.close();
    }
  });
});
