// Layer flow: domain. Finds every file reference in an execution's `input` and `output`, at any depth.

/** A file referenced by an execution: where it sits in the JSON and where to download it from. */
export interface FileReference {
  /** JSON path from the execution root, e.g. `output.report` or `output.files[0]`. */
  path: string;
  url: string;
  /** A safe file name for the copy: the `filename` field, else the URL's last segment, else the file id. */
  fileName: string;
  kind: 'data_factory_file' | 'named_link';
}

const MAX_DEPTH = 64;

/** Every `data_factory_file` object and `{url, filename}` object in `input` and `output`. */
export function discoverFiles(execution: { input?: unknown; output?: unknown }): FileReference[] {
  const found: FileReference[] = [];
  walk(execution.input, 'input', 0, found);
  walk(execution.output, 'output', 0, found);
  return found;
}

function walk(node: unknown, path: string, depth: number, found: FileReference[]): void {
  if (node === null || typeof node !== 'object' || depth > MAX_DEPTH) return;
  if (Array.isArray(node)) {
    node.forEach((child, index) => {
      walk(child, `${path}[${index}]`, depth + 1, found);
    });
    return;
  }
  const record = node as Record<string, unknown>;
  const reference = asFileReference(record, path);
  if (reference) {
    found.push(reference);
    return;
  }
  for (const [key, child] of Object.entries(record)) {
    walk(child, isPlainKey(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`, depth + 1, found);
  }
}

function asFileReference(record: Record<string, unknown>, path: string): FileReference | undefined {
  const url = record.url;
  if (typeof url !== 'string' || url.length === 0) return undefined;
  if (record.object === 'data_factory_file') {
    const id = typeof record.id === 'string' ? record.id : undefined;
    return {
      path,
      url,
      fileName: safeFileName(lastUrlSegment(url) ?? id ?? 'file'),
      kind: 'data_factory_file',
    };
  }
  if (typeof record.filename === 'string' && record.filename.length > 0) {
    return { path, url, fileName: safeFileName(record.filename), kind: 'named_link' };
  }
  return undefined;
}

function isPlainKey(key: string): boolean {
  return /^[A-Za-z_$][\w$]*$/.test(key);
}

function lastUrlSegment(url: string): string | undefined {
  try {
    const segments = new URL(url).pathname.split('/').filter(Boolean);
    const last = segments.at(-1);
    return last ? decodeURIComponent(last) : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps letters, digits, dot, dash and underscore; never empty, never `.` or `..`, at most 200 chars. */
export function safeFileName(name: string): string {
  const cleaned = name
    .normalize('NFKD')
    .replace(/[^\w.-]+/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 200);
  return cleaned.length === 0 ? 'file' : cleaned;
}

/** A JSON path made safe as one S3 key segment: `output.files[0]` -> `output.files.0`. */
export function pathSegment(path: string): string {
  return path
    .replace(/\[(\d+)\]/g, '.$1')
    .replace(/\["?([^\]"]*)"?\]/g, '.$1')
    .replace(/[^\w.-]+/g, '_')
    .slice(0, 300);
}
