import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { Harness } from '../helpers/harness.ts';
import { WRITE_KEYS, basic, harness } from '../helpers/harness.ts';

let h: Harness;
before(async () => {
  h = await harness({ extra: 'server: { headersTimeout: 2s, requestTimeout: 3s }' });
  await h.listen();
});
after(() => h.close());

/**
 * A client that trickles its request a byte a second: the headers (never finished), or a body
 * shorter than its Content-Length. Resolves with how long the server took to close it.
 */
function slowClient(port: number, stage: 'headers' | 'body'): { closed: Promise<number>; socket: Socket } {
  const started = performance.now();
  const socket = connect(port, '127.0.0.1');
  const head =
    stage === 'headers'
      ? 'POST /v1/track HTTP/1.1\r\nHost: localhost\r\nX-Slow: '
      : `POST /v1/track HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAuthorization: ${basic(WRITE_KEYS.web)}\r\nContent-Length: 10000\r\n\r\n{"userId":"`;
  socket.write(head);
  const drip = setInterval(() => socket.write('a'), 1_000);
  socket.on('error', () => {});
  socket.resume();
  const closed = new Promise<number>((resolve) =>
    socket.on('close', () => {
      clearInterval(drip);
      resolve(performance.now() - started);
    }),
  );
  return { closed, socket };
}

test('50 slow clients are cut off within the timeouts while ingest stays fast', async (t) => {
  const port = Number(new URL(h.url).port);
  const clients = Array.from({ length: 50 }, (_, i) => slowClient(port, i % 2 === 0 ? 'headers' : 'body'));
  const cutOff = Promise.all(clients.map((c) => c.closed));

  const latencies: number[] = [];
  let stop = false;
  void cutOff.then(() => (stop = true));
  const deadline = performance.now() + 20_000;
  for (let i = 0; !stop && performance.now() < deadline; i++) {
    const started = performance.now();
    const res = await fetch(`${h.url}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic(WRITE_KEYS.web) },
      body: JSON.stringify({ userId: `fast-${i}`, event: 'Product Viewed', messageId: `fast-${i}` }),
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (const c of clients) c.socket.destroy();
  const closedAfter = await Promise.race([
    cutOff,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('slow clients were still connected after 20 s')), 1_000),
    ),
  ]);
  const slowest = Math.max(...closedAfter);
  const range = (odd: number) => {
    const ms = closedAfter.filter((_, i) => i % 2 === odd);
    return `${Math.min(...ms).toFixed(0)}–${Math.max(...ms).toFixed(0)} ms`;
  };
  const sorted = [...latencies].sort((a, b) => a - b);
  const p50 = sorted[Math.floor(sorted.length / 2)] ?? NaN;
  const worst = sorted.at(-1) ?? NaN;
  t.diagnostic(
    `slow clients closed after ${range(0)} (headers) and ${range(1)} (body); ` +
      `${latencies.length} ingest requests meanwhile: p50 ${p50.toFixed(1)} ms, max ${worst.toFixed(1)} ms`,
  );
  // Timeouts 2 s (headers) and 3 s (request), checked every second; the rest is margin.
  assert.ok(slowest < 12_000, `the last slow client was closed after ${slowest.toFixed(0)} ms`);
  assert.ok(latencies.length >= 5, 'ingest requests were made while the slow clients were connected');
  assert.ok(worst < 2_000, `an ingest request took ${worst.toFixed(0)} ms`);
});

test('connections beyond server.maxConnections are refused until some close', async () => {
  const capped = await harness({ extra: 'server: { maxConnections: 5 }' });
  try {
    const port = Number(new URL(await capped.listen()).port);
    const held = await Promise.all(
      Array.from(
        { length: 5 },
        () =>
          new Promise<Socket>((resolve, reject) => {
            const socket = connect(port, '127.0.0.1', () => resolve(socket));
            socket.on('error', reject);
          }),
      ),
    );
    // Let the server count them before the sixth arrives.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await assert.rejects(fetch(`${capped.url}/healthz`), 'the sixth connection is closed at once');
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal((await fetch(`${capped.url}/healthz`)).status, 200);
  } finally {
    await capped.close();
  }
});
