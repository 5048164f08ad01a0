/**
 * A Customer.io campaign "webhook" action, as a test sends it: a campaign triggered by segment
 * entry (or "is not in segment" for exits) calls a URL with a method, custom headers and a JSON
 * body the workspace writes in Liquid (notes §B.6). The notes show signing only for reporting
 * webhooks, not for these actions, so the receiver checks a shared secret set in a custom header.
 * The rendered body's field names are whatever the workspace's template says [U].
 */

/** How to send one webhook action. */
export interface WebhookOptions {
  /** Header that carries the shared secret, e.g. `X-Handoff-Secret`. */
  secretHeader: string;
  secret: string;
  /** The rendered body: JSON-encoded unless already a string. */
  body: unknown;
  /** Default POST; the action lets the workspace choose the method. */
  method?: string;
  /** More headers, as the action's header list would set them. */
  headers?: Record<string, string>;
  /** Abort after this many ms; default none (Customer.io's own timeout for actions is unpublished). */
  timeoutMs?: number;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
}

/** What the receiver answered. */
export interface WebhookDelivery {
  status: number;
  headers: Headers;
  /** The response text ('' when empty). */
  body: string;
}

export async function sendWebhook(url: string, options: WebhookOptions): Promise<WebhookDelivery> {
  const doFetch = options.fetch ?? fetch;
  const body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const method = options.method ?? 'POST';
  const res = await doFetch(url, {
    method,
    headers: {
      'Content-Type': 'application/json',
      ...options.headers,
      [options.secretHeader]: options.secret,
    },
    ...(method === 'GET' ? {} : { body }),
    ...(options.timeoutMs !== undefined ? { signal: AbortSignal.timeout(options.timeoutMs) } : {}),
  });
  return { status: res.status, headers: res.headers, body: await res.text() };
}
