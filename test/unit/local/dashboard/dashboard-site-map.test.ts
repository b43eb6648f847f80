// The one definition of the dashboard's pages and views (site-map.ts) holds on both sides: every page the client
// renders is served by the server, every view the client asks for is answered by the data function of its name
// with the filters it reads, and no client file writes a path of the server by hand.
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_RENDERERS } from '#local/dashboard/client/pages/index';
import { pageOf } from '#local/dashboard/client/router';
import type { Asset } from '#local/dashboard/dashboard-assets';
import { DashboardData, type DashboardViews } from '#local/dashboard/dashboard-data';
import type { ViewRequest } from '#local/dashboard/dashboard-routes';
import { createDashboardHandler } from '#local/dashboard/dashboard-server';
import {
  FILTER_NAMES,
  matchPath,
  PAGES,
  PATH_PARAMS,
  type PageName,
  pathOf,
  VIEWS,
  type ViewName,
} from '#local/dashboard/site-map';
import { ROOT } from '../../../support/history-cli';

const CLIENT_DIR = join(ROOT, 'local', 'dashboard', 'client');
const SAMPLE = { id: '658445e23ad5b929948ab731', jobId: '65819ba43ad5b963658ab35d', index: 2 };
/** A value for every filter, none of them the default: the server passes a view only those it reads. */
const EVERY_FILTER = new URLSearchParams({
  since: '7d',
  until: '2099-01-01',
  job: SAMPLE.jobId,
  status: 'FAILED',
});
const FILE_BYTES = Buffer.from('a,b\n1,2\n');

function asset(contentType: string, text: string): Asset {
  return { contentType, body: Buffer.from(text), gzip: Buffer.from(text), etag: '"x"' };
}

/** Data functions that answer with their own name and the request they were given. */
function echoViews(): DashboardViews {
  const views: Record<string, (request: ViewRequest<ViewName>) => Promise<unknown>> = {};
  for (const view of Object.keys(VIEWS)) views[view] = async (request) => ({ view, request });
  views.file = async () => ({
    fileName: 'f.csv',
    contentType: 'text/csv',
    size: FILE_BYTES.byteLength,
    sha256: null,
    body: Readable.from([FILE_BYTES]),
  });
  return views as unknown as DashboardViews;
}

/** The client's source files (pages and shared modules), by path under client/. */
async function clientSources(): Promise<Map<string, string>> {
  const sources = new Map<string, string>();
  for (const entry of await readdir(CLIENT_DIR, { recursive: true })) {
    if (entry.endsWith('.ts')) sources.set(entry, await readFile(join(CLIENT_DIR, entry), 'utf8'));
  }
  return sources;
}

function paramNames(path: string): string[] {
  return [...path.matchAll(/:(\w+)/g)].map((match) => match[1] ?? '');
}

/** The views a source asks for by name: `view('job', …)`, `getView('version', …)`, `viewHref('file', …)`. */
function viewsCalled(source: string): string[] {
  return [...source.matchAll(/\b(?:view|getView|viewHref|viewPath)\(\s*'([A-Za-z]+)'/g)].map(
    (match) => match[1] ?? '',
  );
}

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer(
    createDashboardHandler({
      data: echoViews(),
      assets: {
        page: asset('text/html; charset=utf-8', '<!doctype html><title>shell</title>'),
        files: new Map([['app.js', asset('text/javascript; charset=utf-8', '')]]),
      },
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('the dashboard site map', () => {
  it('has a renderer on the client for every page, in its own file, and none for a page it does not define', async () => {
    expect(Object.keys(PAGE_RENDERERS).sort()).toEqual(Object.keys(PAGES).sort());
    const sources = await clientSources();
    for (const page of Object.keys(PAGES)) expect(sources.has(`pages/${page}-page.ts`), page).toBe(true);
  });

  it('serves the page shell at the path of every page the client renders, and both read the same page', async () => {
    for (const page of Object.keys(PAGE_RENDERERS) as PageName[]) {
      const path = pathOf(PAGES[page].path, SAMPLE);
      const response = await fetch(`${base}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toBe('text/html; charset=utf-8');
      const params = Object.fromEntries(
        paramNames(PAGES[page].path).map((name) => [name, SAMPLE[name as keyof typeof SAMPLE]]),
      );
      expect(pageOf(path), path).toEqual({ page, params });
    }
  });

  it('answers every view the client asks for, with the data function of its name and the filters it reads', async () => {
    const sources = await clientSources();
    const called = new Set([...sources.values()].flatMap(viewsCalled));
    // And the server has no view that the client never asks for.
    expect([...called].sort()).toEqual(Object.keys(VIEWS).sort());
    for (const view of called) {
      const definition = VIEWS[view as ViewName];
      const response = await fetch(`${base}${pathOf(definition.path, SAMPLE)}?${EVERY_FILTER}`);
      expect(response.status, view).toBe(200);
      if (definition.download) {
        expect(Buffer.from(await response.arrayBuffer())).toEqual(FILE_BYTES);
        continue;
      }
      const answer = (await response.json()) as { view: string; request: Record<string, unknown> };
      expect(answer.view).toBe(view);
      const reads = new Set<string>(definition.filters);
      const filters = answer.request.filters as Record<string, string | null>;
      for (const name of FILTER_NAMES) {
        const sent = name === 'status' ? 'FAILED' : EVERY_FILTER.get(name);
        const unread = name === 'since' ? '30d' : null;
        expect(filters[name], `${view} ${name}`).toBe(reads.has(name) ? sent : unread);
      }
    }
  });

  it('asks, from each page, only for the views its entry names', async () => {
    const sources = await clientSources();
    for (const page of Object.keys(PAGES) as PageName[]) {
      const named: readonly string[] = PAGES[page].views;
      for (const view of viewsCalled(sources.get(`pages/${page}-page.ts`) ?? '')) {
        expect(named, `${page} asks for ${view}`).toContain(view);
      }
    }
  });

  it('answers every view with a DashboardData method of the same name', () => {
    for (const view of Object.keys(VIEWS)) {
      expect(typeof DashboardData.prototype[view as ViewName], view).toBe('function');
    }
  });

  it('is the only place that writes a path of the server: no client file has one of its own', async () => {
    for (const [file, text] of await clientSources()) {
      // The code, without its comments (they may name a path, as the pages' headers do).
      const source = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
      expect(source.match(/['"`]\/(api|jobs|executions|assets)\b[^'"`]*/g) ?? [], file).toEqual([]);
    }
  });

  it('checks every parameter of a path, and no two paths can be taken for each other', () => {
    const paths = [...Object.values(PAGES), ...Object.values(VIEWS)].map((definition) => definition.path);
    for (const path of paths) {
      for (const name of paramNames(path)) expect(Object.keys(PATH_PARAMS), path).toContain(name);
      const sample = pathOf(path, SAMPLE);
      expect(
        paths.filter((other) => matchPath(other, sample)),
        sample,
      ).toEqual([path]);
    }
  });
});
