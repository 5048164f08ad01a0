// A fake Customer.io App API for demos: `node --import tsx test/fakes/customerio/main.ts --port 9200`.
// Inspect it with `curl localhost:9200/__fake/state`; disturb it with `PUT /__fake/faults`.
import { parseArgs } from 'node:util';
import { positive } from '../local-server.ts';
import { startFakeCustomerIo } from './index.ts';

const USAGE = `usage: main.ts [--port 9200] [--rate <per second, default 10>] [--no-rate-limit] [--key <app api key>]...
               [--segment <name>[:<member count>]]... [--last-page-next empty|omit] [--seed <n>]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '9200' },
      rate: { type: 'string' },
      'no-rate-limit': { type: 'boolean' },
      key: { type: 'string', multiple: true },
      segment: { type: 'string', multiple: true },
      'last-page-next': { type: 'string', default: 'empty' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be 0–65535, got ${values.port}`);
  const lastPageNext = values['last-page-next'];
  if (lastPageNext !== 'empty' && lastPageNext !== 'omit')
    throw new Error(`--last-page-next must be empty or omit, got ${lastPageNext}`);
  const perSecond = positive('rate', values.rate);
  const seed = positive('seed', values.seed);
  const fake = await startFakeCustomerIo({
    port,
    lastPageNext: lastPageNext === 'omit' ? 'omit' : '',
    ...(values.key ? { appApiKeys: values.key } : {}),
    ...(values['no-rate-limit']
      ? { rateLimit: false }
      : perSecond !== undefined
        ? { rateLimit: { perSecond } }
        : {}),
    ...(seed !== undefined ? { seed } : {}),
  });
  for (const spec of values.segment ?? []) {
    const [name = '', count = '0'] = spec.split(':');
    const n = Number(count);
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`--segment ${spec}: the member count must be an integer ≥ 0`);
    const members = Array.from({ length: n }, (_, i) => ({
      id: `${name}-${i + 1}`,
      email: `${name}-${i + 1}@example.com`,
    }));
    const segment = fake.segments.create(name, members);
    console.log(`segment ${segment.id} "${name}": ${n} members`);
  }
  console.log(`fake Customer.io App API at ${fake.baseUrl}  (Authorization: ${fake.authorization})`);
  console.log(`state: curl ${fake.url}/__fake/state`);
  const stop = () => void fake.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  console.error(USAGE);
  process.exit(2);
});
