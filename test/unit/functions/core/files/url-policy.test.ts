import { describe, expect, it } from 'vitest';
import { assertAllowedUrl, ForbiddenUrlError } from '#core/files/url-policy';

const production = { apiUrl: 'https://api.product-live.com', allowedHosts: ['*.product-live.com'] };
const emulator = { apiUrl: 'http://127.0.0.1:4010', allowedHosts: ['*.product-live.com'] };

describe('file URL policy', () => {
  it.each([
    'https://app.product-live.com/data-factory/2629/download/abc/report.xml',
    'https://api.product-live.com/files/1',
    'https://a.b.product-live.com/x',
  ])('allows %s', (url) => {
    expect(assertAllowedUrl(url, production).href).toBe(url);
  });

  it.each([
    ['http://app.product-live.com/x', /plain http/],
    ['https://evil.example.com/x', /not in the allowed/],
    ['https://product-live.com.evil.com/x', /not in the allowed/],
    ['https://evilproduct-live.com/x', /not in the allowed/],
    ['https://127.0.0.1/x', /loopback/],
    ['https://localhost/x', /loopback/],
    ['https://10.0.0.5/x', /private address/],
    ['https://169.254.169.254/latest/meta-data', /private address/],
    ['https://[::1]/x', /loopback/],
    ['https://user:pass@app.product-live.com/x', /credentials/],
    ['ftp://app.product-live.com/x', /scheme/],
    ['file:///etc/passwd', /scheme/],
    ['not a url', /not a valid URL/],
  ])('refuses %s', (url, reason) => {
    expect(() => assertAllowedUrl(url, production)).toThrow(ForbiddenUrlError);
    expect(() => assertAllowedUrl(url, production)).toThrow(reason);
  });

  it("allows only the local API's own origin: not another port of the loopback host, nor https on it", () => {
    expect(assertAllowedUrl('http://127.0.0.1:4010/files/a.csv', emulator).port).toBe('4010');
    for (const url of [
      'http://127.0.0.1:4011/files/a.csv',
      'http://127.0.0.1/files/a.csv',
      'https://127.0.0.1:4010/a',
    ]) {
      expect(() => assertAllowedUrl(url, emulator), url).toThrow(ForbiddenUrlError);
      expect(() => assertAllowedUrl(url, emulator), url).toThrow("only the local API's own origin");
    }
  });

  it('allows plain http only on the loopback emulator host, when the API is that emulator', () => {
    expect(assertAllowedUrl('http://127.0.0.1:4010/data-factory/1/download/a/r.xml', emulator).hostname).toBe(
      '127.0.0.1',
    );
    expect(() => assertAllowedUrl('http://localhost:4010/x', emulator)).toThrow(ForbiddenUrlError);
    expect(() => assertAllowedUrl('http://192.168.1.10/x', emulator)).toThrow(ForbiddenUrlError);
    expect(() => assertAllowedUrl('http://127.0.0.1:4010/x', production)).toThrow(ForbiddenUrlError);
  });

  it('honours host:port patterns and exact hosts from the configuration', () => {
    const policy = { apiUrl: 'https://api.product-live.com', allowedHosts: ['files.example.com:8443'] };
    expect(assertAllowedUrl('https://files.example.com:8443/a', policy).port).toBe('8443');
    expect(() => assertAllowedUrl('https://files.example.com/a', policy)).toThrow(ForbiddenUrlError);
  });
});
