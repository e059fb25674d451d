// The app-ubr client: openapi-fetch typed by the generated `paths` (src/schema.d.ts), with the
// access token kept in memory and sent as a bearer token. Every path, parameter, body and
// response is checked by the compiler against the OpenAPI document of this version.
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, operations, paths } from './schema';

export type { components, operations, paths };
/** A schema of the document by name, e.g. `Schema<'Error'>` (the error envelope). */
export type Schema<Name extends keyof components['schemas']> = components['schemas'][Name];

export interface AppClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /** Origin of the API, e.g. `https://api.example.com` or `http://127.0.0.1:8787`. */
  baseUrl: string;
  /** An access token to start with (e.g. one kept by the app's own secure storage). */
  accessToken?: string;
}

export interface AppClient extends Client<paths> {
  /** Sends `Authorization: Bearer <token>` on every later request; `undefined` stops it. */
  setAccessToken(token: string | undefined): void;
}

export function createAppClient({ baseUrl, accessToken, ...options }: AppClientOptions): AppClient {
  let token = accessToken;
  const client = createClient<paths>({ ...options, baseUrl: baseUrl.replace(/\/+$/, '') });
  client.use({
    onRequest({ request }) {
      // An explicit Authorization header (an API key, another user's token) wins.
      if (token && !request.headers.has('authorization')) request.headers.set('authorization', `Bearer ${token}`);
      return request;
    },
  });
  return Object.assign(client, {
    setAccessToken(next: string | undefined) {
      token = next;
    },
  });
}
