import pino from 'pino';
import type { Logger } from 'pino';

/**
 * The service logger. Credentials never reach the log: authorization headers are redacted by
 * path, and any configured secret value that appears in a message is censored.
 */
export function createLogger(
  secrets: readonly string[],
  level = process.env.HANDOFF_LOG_LEVEL ?? 'info',
): Logger {
  return pino({
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        '*.writeKey',
        'writeKey',
        '*.apiKey',
      ],
      censor: '[redacted]',
    },
    hooks: {
      logMethod(args, method) {
        const censored = args.map((a) => (typeof a === 'string' ? censor(a, secrets) : a));
        return method.apply(this, censored as Parameters<typeof method>);
      },
    },
  });
}

function censor(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 6) out = out.split(s).join('[redacted]');
  return out;
}
