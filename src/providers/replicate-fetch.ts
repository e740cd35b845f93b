/**
 * The `fetch` we hand to the replicate client. Its built-in retry (lib/util.js) re-sends a request
 * up to five times with no real pause on a 429, and after ANY thrown error, including a network
 * error on the POST that creates a prediction: a second paid clip. This wrapper makes every
 * failure final for that request: 429 and 5xx become a thrown ProviderHttpError (keeping
 * Retry-After), and once a request has failed, the client's re-sends of the same request object
 * fail at once without touching the network. Temporal's retry policy then owns retries.
 */
import { ProviderHttpError, parseRetryAfter } from './errors';

type Fetch = typeof globalThis.fetch;

export function createReplicateFetch(baseFetch: Fetch = globalThis.fetch): Fetch {
  // Keyed by the init object: the client passes the same one to every re-send of one request.
  const failed = new WeakMap<object, unknown>();
  const wrapped = async (input: Parameters<Fetch>[0], init?: RequestInit): Promise<Response> => {
    if (init && failed.has(init)) throw failed.get(init);
    try {
      const res = await baseFetch(input, init);
      if (res.status === 429 || res.status >= 500) {
        const body = await res.text().catch(() => '');
        throw new ProviderHttpError('Replicate', res.status, parseRetryAfter(res.headers.get('retry-after')), body);
      }
      return res;
    } catch (err) {
      if (init) failed.set(init, err);
      throw err;
    }
  };
  return wrapped;
}
