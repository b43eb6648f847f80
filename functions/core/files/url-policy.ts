// Layer flow: domain. Which URLs a file may be downloaded from (invariant 8): https on an allowed host; plain
// http and loopback only when the API itself is a loopback http URL (the emulator, a local stand-in), and
// then only the API's own origin: its scheme, host and port.
import { isIP } from 'node:net';

export interface UrlPolicy {
  /** Host patterns: `api.product-live.com`, `*.product-live.com` (subdomains only), `host:port`. */
  allowedHosts: readonly string[];
  /** The API base URL: its own host is always allowed, and a loopback http API enables the emulator mode. */
  apiUrl: string;
}

/** Raised for a URL the policy refuses; the message says why. */
export class ForbiddenUrlError extends Error {
  override readonly name = 'ForbiddenUrlError';
}

/** Throws ForbiddenUrlError unless the URL may be fetched (and sent the API key). */
export function assertAllowedUrl(rawUrl: string, policy: UrlPolicy): URL {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new ForbiddenUrlError(`not a valid URL: ${truncate(rawUrl)}`);
  }
  const api = new URL(policy.apiUrl);
  const emulatorMode = api.protocol === 'http:' && isLoopbackHost(api.hostname);
  const where = `${url.protocol}//${url.host}`;
  if (url.username || url.password) throw new ForbiddenUrlError(`URL with credentials refused: ${where}`);
  if (url.protocol === 'http:' || isLoopbackHost(url.hostname)) {
    if (emulatorMode && url.origin === api.origin) return url;
    if (emulatorMode && isLoopbackHost(url.hostname)) {
      throw new ForbiddenUrlError(
        `loopback address refused (${where}): only the local API's own origin (${api.origin}) is allowed`,
      );
    }
    throw new ForbiddenUrlError(
      url.protocol === 'http:'
        ? `plain http refused (${where}): only https is allowed, except the local API's own origin`
        : `loopback address refused (${where})`,
    );
  }
  if (url.protocol !== 'https:') throw new ForbiddenUrlError(`scheme ${url.protocol} refused (${where})`);
  if (isIP(stripBrackets(url.hostname)) && isPrivateAddress(stripBrackets(url.hostname))) {
    throw new ForbiddenUrlError(`private address refused (${where})`);
  }
  const host = url.host.toLowerCase();
  const hostname = url.hostname.toLowerCase();
  const allowed = [api.host.toLowerCase(), ...policy.allowedHosts].some((pattern) =>
    matchesHost(pattern.toLowerCase(), host, hostname),
  );
  if (!allowed) throw new ForbiddenUrlError(`host not in the allowed file hosts (${where})`);
  return url;
}

function matchesHost(pattern: string, host: string, hostname: string): boolean {
  if (pattern.startsWith('*.')) {
    const suffix = pattern.slice(1);
    return hostname.endsWith(suffix) && hostname.length > suffix.length;
  }
  return pattern.includes(':') ? pattern === host : pattern === hostname;
}

/** True for loopback names and addresses (localhost, 127.0.0.0/8, ::1). */
function isLoopbackHost(hostname: string): boolean {
  const host = stripBrackets(hostname.toLowerCase());
  return host === 'localhost' || host.endsWith('.localhost') || /^127\./.test(host) || host === '::1';
}

/** True for addresses that must never be fetched from AWS: private, loopback, link-local, unspecified. */
function isPrivateAddress(address: string): boolean {
  if (isIP(address) === 4) {
    const [a = 0, b = 0] = address.split('.').map(Number);
    return (
      a === 10 ||
      a === 127 ||
      a === 0 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  const lower = address.toLowerCase();
  if (lower.startsWith('::ffff:')) return isPrivateAddress(lower.slice(7));
  return lower === '::1' || lower === '::' || /^f[cd]/.test(lower) || /^fe[89ab]/.test(lower);
}

function stripBrackets(host: string): string {
  return host.replace(/^\[|\]$/g, '');
}

function truncate(value: string): string {
  return value.length > 100 ? `${value.slice(0, 100)}…` : value;
}
