// Layer flow: handlers -> clientForKey -> ProductLiveClient. A handler keeps one client per container, so
// that its rate budget spans invocations; a rotated secret (a new key) gets a new client.
import { ProductLiveClient, type ProductLiveClientOptions } from './product-live-client';

/** A function returning the client for a key: the same client while the key stays the same. */
export function createClientForKey(
  options: Omit<ProductLiveClientOptions, 'apiKey'>,
): (apiKey: string) => ProductLiveClient {
  let current: { apiKey: string; client: ProductLiveClient } | undefined;
  return (apiKey) => {
    if (current?.apiKey !== apiKey)
      current = { apiKey, client: new ProductLiveClient({ ...options, apiKey }) };
    return current.client;
  };
}
