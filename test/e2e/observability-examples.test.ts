import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import type { FakeCordial } from '../fakes/cordial/index.ts';
import { startFakeCordial } from '../fakes/cordial/index.ts';
import type { FakeCustomerIo } from '../fakes/customerio/index.ts';
import { startFakeCustomerIo } from '../fakes/customerio/index.ts';
import type { Harness } from '../helpers/harness.ts';
import { harness } from '../helpers/harness.ts';
import { exportedNames, metricNames } from '../helpers/promql.ts';
import { CART_AND_PURCHASERS } from '../helpers/cordial-audiences.ts';
import { CHECK_NAMES } from '../../src/monitor/ports.ts';

// The example alerting rules and Grafana dashboard only name metrics a real Handoff exports,
// scraped from an app with a Cordial destination and a Customer.io-sourced audience.
const ROOT = join(import.meta.dirname, '../..');
const RULES = join(ROOT, 'examples/prometheus/alerts.yaml');
const DASHBOARD = join(ROOT, 'examples/grafana/handoff.json');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
/** Series Prometheus itself adds to every scrape target. */
const PROMETHEUS_OWN = new Set(['up']);
const ADMIN = 'examples-admin-token';

interface Rule {
  alert: string;
  expr: string;
  annotations: Record<string, string>;
}
const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);

let cordial: FakeCordial;
let cio: FakeCustomerIo;
let h: Harness;
let exported: Set<string>;

before(async () => {
  cordial = await startFakeCordial();
  cio = await startFakeCustomerIo();
  h = await harness({
    extra: stringify({
      server: { adminToken: { env: 'ADMIN_TOKEN' } },
      customerio: {
        baseUrl: cio.baseUrl,
        appApiKey: { env: 'CIO_APP_KEY' },
        webhookSecret: { env: 'CIO_HOOK_SECRET' },
      },
      destinations: { cordial: { baseUrl: cordial.baseUrl, apiKey: { env: 'CORDIAL_KEY' } } },
      audiences: [
        ...CART_AND_PURCHASERS,
        {
          key: 'cio_vip',
          name: 'CIO | VIP',
          purpose: 'the VIP segment as Customer.io computes it',
          channels: ['email'],
          ttl: 'none',
          source: { customerio: { segmentId: 1 } },
          destinations: [{ cordial: { list: 'cio-vip', identifier: 'email' } }],
        },
      ],
    }),
    env: {
      ADMIN_TOKEN: ADMIN,
      CORDIAL_KEY: cordial.apiKey,
      CIO_APP_KEY: cio.appApiKey,
      CIO_HOOK_SECRET: 'examples-hook-secret',
    },
  });
  await h.listen();
  await h.app.monitor.checks.runOnce();
  const res = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(res.status, 200);
  exported = exportedNames(await res.text());
});
after(async () => {
  await h.close();
  await cordial.close();
  await cio.close();
});

const unknown = (exprs: string[]) =>
  exprs.flatMap((e) =>
    metricNames(e)
      .filter((n) => !exported.has(n) && !PROMETHEUS_OWN.has(n))
      .map((n) => `${n} in ${e}`),
  );

describe('examples/prometheus/alerts.yaml', () => {
  test('names only metrics Handoff exports', () => {
    assert.ok(exported.has('handoff_sync_requests_total') && exported.has('handoff_check_status'));
    assert.deepEqual(unknown(rules.map((r) => r.expr)), []);
  });

  test('covers every check, the processor lag and the sync backlog', () => {
    const exprs = rules.map((r) => r.expr).join('\n');
    const byMetric: Record<string, string> = {
      dead_letters: 'handoff_sync_dead_letters',
      overdue_wakeups: 'handoff_wakeups_overdue',
      quarantined_events: 'handoff_processor_quarantined_events',
    };
    const missing = CHECK_NAMES.filter((c) => c !== 'size').filter(
      (c) => !exprs.includes(`check="${c}"`) && !(byMetric[c] && exprs.includes(byMetric[c])),
    );
    assert.deepEqual(missing, []);
    for (const metric of ['handoff_processor_lag_seconds', 'handoff_sync_pending_items'])
      assert.ok(exprs.includes(metric), `no alert on ${metric}`);
    if (exported.has('handoff_processor_quarantined_events'))
      assert.ok(exprs.includes('handoff_processor_quarantined_events'), 'no alert on quarantined events');
  });

  test('every alert has a summary, a description and a runbook paragraph in README', () => {
    for (const r of rules) {
      assert.ok(r.annotations.summary, `${r.alert} has no summary`);
      assert.ok(r.annotations.description, `${r.alert} has no description`);
      const anchor = /#(alert-[a-z0-9-]+)$/.exec(r.annotations.runbook_url ?? '')?.[1];
      assert.equal(anchor, `alert-${r.alert.toLowerCase()}`, `${r.alert}'s runbook_url`);
      const runbook = new RegExp(`^#### Alert: ${r.alert}\\n\\n\\S`, 'm');
      assert.ok(runbook.test(README), `README has no runbook paragraph under "#### Alert: ${r.alert}"`);
    }
  });

  test('promtool accepts the rules', async (t) => {
    const promtool = onPath('promtool');
    if (promtool === undefined) {
      const reason =
        'promtool is not installed (apt-get install prometheus): the rules were not checked by Prometheus';
      if (process.env.CI === 'true') assert.fail(reason);
      t.skip(reason);
      return;
    }
    const { stdout } = await promisify(execFile)(promtool, ['check', 'rules', RULES]);
    assert.match(stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
  });
});

describe('examples/grafana/handoff.json', () => {
  test('every query names only metrics Handoff exports', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      panels: { title: string; targets?: { expr: string }[] }[];
      templating: { list: { query?: unknown }[] };
    };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    for (const v of dashboard.templating.list) {
      const q = v.query as { query?: string } | string | undefined;
      const text = typeof q === 'string' ? q : q?.query;
      if (text?.includes('(')) exprs.push(text);
    }
    assert.ok(exprs.length >= 10, `only ${exprs.length} queries`);
    assert.deepEqual(unknown(exprs), []);
    const named = new Set(exprs.flatMap(metricNames));
    for (const metric of [
      'handoff_audience_members',
      'handoff_audience_changes_total',
      'handoff_sync_requests_total',
      'handoff_sync_rate_limited_total',
      'handoff_event_to_ack_seconds_bucket',
      'handoff_processor_lag_seconds',
      'handoff_sync_dead_letters',
    ])
      assert.ok(named.has(metric), `no panel shows ${metric}`);
  });
});

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const path = join(dir, command);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}
