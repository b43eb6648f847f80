// Layer flow: dashboard server -> this module -> esbuild: the client (client/main.ts, its CSS and uPlot's) is
// bundled in memory when the server starts, minified, and kept with its gzip encoding and an ETag. Nothing is
// generated on disk and nothing is fetched from the network: every byte the page loads comes from here.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export interface Asset {
  contentType: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

export interface DashboardAssets {
  /** The page shell, served for every page path (the client reads the path and the filters). */
  page: Asset;
  /** The bundled script and style sheet, by name under /assets/. */
  files: ReadonlyMap<string, Asset>;
}

const CLIENT_DIR = fileURLToPath(new URL('./client/', import.meta.url));

function asset(contentType: string, body: Buffer): Asset {
  return {
    contentType,
    body,
    gzip: gzipSync(body, { level: 9 }),
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
  };
}

/** Bundles the client: app.js and app.css, and the page that loads them. */
export async function buildDashboardAssets(): Promise<DashboardAssets> {
  const result = await build({
    entryPoints: { app: `${CLIENT_DIR}main.ts` },
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    write: false,
    outdir: 'assets',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const files = new Map<string, Asset>();
  for (const output of result.outputFiles) {
    const name = output.path.split('/').pop() ?? '';
    if (name.endsWith('.js'))
      files.set(name, asset('text/javascript; charset=utf-8', Buffer.from(output.contents)));
    if (name.endsWith('.css'))
      files.set(name, asset('text/css; charset=utf-8', Buffer.from(output.contents)));
  }
  if (!files.has('app.js') || !files.has('app.css')) throw new Error('the dashboard client did not bundle');
  const page = await readFile(`${CLIENT_DIR}index.html`);
  return { page: asset('text/html; charset=utf-8', page), files };
}
