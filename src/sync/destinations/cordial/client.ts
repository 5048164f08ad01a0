import type { Dispatcher } from 'undici';
import { Agent, request } from 'undici';
import type { RequestEndpoint } from '../../model.ts';

/** A Cordial REST v2 response, or the network error that stood in for one. */
export type CordialResponse =
  | { ok: true; status: number; body: unknown; headers: Record<string, string | undefined> }
  | { ok: false; error: string };

export interface CordialClientOptions {
  /** e.g. https://api.cordial.io/v2 (or https://api.usw2.cordial.io/v2). */
  baseUrl: string;
  apiKey: string;
  /** Concurrent connections to the account. Default 4. */
  connections?: number;
  /** A request that has not answered in this long fails as retryable (ms). Default 15,000. */
  timeoutMs?: number;
  dispatcher?: Dispatcher;
  /** Told of every request once it is answered (or fails without an answer): where requests are counted. */
  onRequest?: (request: SentRequest) => void;
}

/** One request as the client saw it; `status` undefined when no response came back. */
export interface SentRequest {
  method: 'GET' | 'PUT' | 'POST';
  endpoint: RequestEndpoint;
  status: number | undefined;
}

/** The slice of Cordial's REST v2 that list sync uses. Auth: HTTP Basic, API key as user, empty password. */
export class CordialClient {
  private readonly dispatcher: Dispatcher;
  private readonly auth: string;
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly onRequest: (request: SentRequest) => void;

  constructor(options: CordialClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    this.auth = `Basic ${Buffer.from(`${options.apiKey}:`).toString('base64')}`;
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.onRequest = options.onRequest ?? (() => undefined);
    this.dispatcher =
      options.dispatcher ?? new Agent({ connections: options.connections ?? 4, keepAliveTimeout: 30_000 });
  }

  /** `email:ann@x.com` → `email:ann%40x.com`: each part URL-encoded, as the API requires. */
  static contactPath(key: string): string {
    const colon = key.indexOf(':');
    return colon === -1
      ? encodeURIComponent(key)
      : `${encodeURIComponent(key.slice(0, colon))}:${encodeURIComponent(key.slice(colon + 1))}`;
  }

  getContact(key: string): Promise<CordialResponse> {
    return this.call('GET', 'read', `/contacts/${CordialClient.contactPath(key)}`);
  }
  updateContact(key: string, body: Record<string, unknown>): Promise<CordialResponse> {
    return this.call('PUT', 'contact', `/contacts/${CordialClient.contactPath(key)}`, body);
  }
  createContact(body: Record<string, unknown>): Promise<CordialResponse> {
    return this.call('POST', 'contact', '/contacts', body);
  }
  findList(name: string): Promise<CordialResponse> {
    return this.call('GET', 'list', `/accountlists?name=${encodeURIComponent(name)}`);
  }
  createList(name: string): Promise<CordialResponse> {
    return this.call('POST', 'list', '/accountlists', { name, enhanced: true });
  }
  /** `POST /v2/contactimports`: 201 `{jobId}`; a configuration error is a 406. */
  createImport(body: Record<string, unknown>): Promise<CordialResponse> {
    return this.call('POST', 'import', '/contactimports', body);
  }
  /** `POST /v2/contactexports`: 200 `{jobId}`; a bad request is a 400. */
  createExport(body: Record<string, unknown>): Promise<CordialResponse> {
    return this.call('POST', 'export', '/contactexports', body);
  }
  getJob(id: string): Promise<CordialResponse> {
    return this.call('GET', 'job', `/jobs/${encodeURIComponent(id)}`);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async call(
    method: SentRequest['method'],
    endpoint: RequestEndpoint,
    path: string,
    body?: unknown,
  ): Promise<CordialResponse> {
    const response = await this.send(method, path, body);
    this.onRequest({ method, endpoint, status: response.ok ? response.status : undefined });
    return response;
  }

  private async send(method: SentRequest['method'], path: string, body?: unknown): Promise<CordialResponse> {
    try {
      const res = await request(`${this.base}${path}`, {
        method,
        dispatcher: this.dispatcher,
        headers: {
          authorization: this.auth,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      const text = await res.body.text();
      let parsed: unknown = text;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        // Not JSON (a proxy's error page): keep the text for the dead letter.
      }
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(res.headers))
        headers[k.toLowerCase()] = Array.isArray(v) ? v[0] : v;
      return { ok: true, status: res.statusCode, body: parsed, headers };
    } catch (error) {
      return { ok: false, error: `${method} ${path}: ${(error as Error).message}` };
    }
  }
}
