import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from './metrics.ts';

test('counters, gauges and histograms render in the text exposition format', async () => {
  const r = new Registry();
  const c = r.counter('x_total', 'Things.\nCounted.', ['kind']);
  const g = r.gauge('depth', 'How deep.');
  const h = r.histogram('wait_seconds', 'Waits.', ['lane'], [1, 0.5]);
  c.inc({ kind: 'a "quoted"\\one' });
  c.inc({ kind: 'b' }, 2);
  g.set({}, 7);
  h.observe({ lane: 'x' }, 0.2);
  h.observe({ lane: 'x' }, 0.7);
  h.observe({ lane: 'x' }, 9);
  assert.equal(
    await r.render(),
    [
      '# HELP x_total Things.\\nCounted.',
      '# TYPE x_total counter',
      'x_total{kind="a \\"quoted\\"\\\\one"} 1',
      'x_total{kind="b"} 2',
      '# HELP depth How deep.',
      '# TYPE depth gauge',
      'depth 7',
      '# HELP wait_seconds Waits.',
      '# TYPE wait_seconds histogram',
      'wait_seconds_bucket{lane="x",le="0.5"} 1',
      'wait_seconds_bucket{lane="x",le="1"} 2',
      'wait_seconds_bucket{lane="x",le="+Inf"} 3',
      'wait_seconds_sum{lane="x"} 9.9',
      'wait_seconds_count{lane="x"} 3',
      '',
    ].join('\n'),
  );
});

test('misuse is refused loudly', () => {
  const r = new Registry();
  const c = r.counter('a_total', 'A.', ['k']);
  assert.throws(() => c.inc({ k: 'x' }, -1), /cannot go down/);
  assert.throws(() => c.inc({ other: 'x' }), /has no label other/);
  assert.throws(() => r.counter('a_total', 'again'), /registered twice/);
  assert.throws(() => r.gauge('bad-name', 'B.'), /invalid metric name/);
  assert.throws(() => r.histogram('h', 'H.', ['le'], [1]), /invalid label le/);
});

test('collectors run before each render', async () => {
  const r = new Registry();
  const g = r.gauge('n', 'N.');
  let n = 0;
  r.collect(() => {
    g.set({}, ++n);
    return Promise.resolve();
  });
  assert.match(await r.render(), /^n 1$/m);
  assert.match(await r.render(), /^n 2$/m);
});
