// A fake Cordial for demos: `node --import tsx test/fakes/cordial/main.ts --port 9100 [--rate 50]`.
// Inspect it with `curl localhost:9100/__fake/state`; disturb it with `PUT /__fake/faults`.
import { parseArgs } from 'node:util';
import { positive } from '../local-server.ts';
import { startFakeCordial } from './index.ts';

const USAGE = `usage: main.ts [--port 9100] [--rate <per second>] [--per-minute <n>] [--key <api key>]...
               [--attribute <contact attribute>]... [--list <list name to create>]... [--seed <n>]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '9100' },
      rate: { type: 'string' },
      'per-minute': { type: 'string' },
      key: { type: 'string', multiple: true },
      attribute: { type: 'string', multiple: true },
      list: { type: 'string', multiple: true },
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
  const perSecond = positive('rate', values.rate);
  const perMinute = positive('per-minute', values['per-minute']);
  const seed = positive('seed', values.seed);
  const fake = await startFakeCordial({
    port,
    ...(values.key ? { apiKeys: values.key } : {}),
    ...(values.attribute ? { contactAttributes: values.attribute } : {}),
    ...(perSecond !== undefined
      ? { rateLimit: { perSecond, ...(perMinute !== undefined ? { perMinute } : {}) } }
      : {}),
    ...(seed !== undefined ? { seed } : {}),
  });
  for (const name of values.list ?? []) fake.seedList(name, { enhanced: true });
  console.log(
    `fake Cordial at ${fake.baseUrl}  (API key ${fake.apiKey}, Authorization: ${fake.authorization})`,
  );
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
