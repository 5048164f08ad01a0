// A small S3-compatible server for tests and benchmarks: path-style PutObject, GetObject,
// DeleteObject and ListObjectsV2, header-signed requests for Handoff's own calls and presigned
// URLs (checked by SigV4) for Cordial's fetches.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { closeNow, listenLocal } from '../local-server.ts';
import { checkPresigned, headerAccessKey } from './sigv4.ts';

/** One request as the fake saw it. */
export interface S3Request {
  method: string;
  bucket: string;
  key: string;
  /** How it was authorised. */
  auth: 'header' | 'presigned' | 'none';
  status: number;
}

export interface FakeS3Options {
  /** Buckets that exist. Default `['handoff-test']`. */
  buckets?: string[];
  /** Access key id → secret. Default `{ AKIAFAKE: 'fake-secret' }`. */
  credentials?: Record<string, string>;
  /** Clock for presigned URL expiry, ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

export interface FakeS3 {
  /** Origin, e.g. `http://127.0.0.1:41234`: the endpoint an S3 client is pointed at (path style). */
  url: string;
  /** Objects of a bucket: key → body. */
  objects(bucket: string): Map<string, string>;
  /** Writes an object without HTTP (what a Cordial export does); false when the bucket does not exist. */
  put(bucket: string, key: string, body: string): boolean;
  /** The next `n` PutObject requests answer 503 SlowDown. */
  failNextPuts(n: number): void;
  readonly requests: readonly S3Request[];
  reset(): void;
  close(): Promise<void>;
}

const xmlEscape = (s: string) =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );

function error(res: ServerResponse, status: number, code: string, message: string): number {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
  return status;
}

/** The payload of an `aws-chunked` body: `<hex size>;chunk-signature=…\r\n<data>\r\n…0\r\n<trailers>`. */
function unchunk(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = parseInt(raw.subarray(at, eol).toString().split(';')[0]!, 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(raw.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  return String(req.headers['content-encoding'] ?? '').includes('aws-chunked') ? unchunk(raw) : raw;
}

export async function startFakeS3(options: FakeS3Options = {}): Promise<FakeS3> {
  const bucketNames = options.buckets ?? ['handoff-test'];
  const credentials = options.credentials ?? { AKIAFAKE: 'fake-secret' };
  const now = options.now ?? Date.now;
  const buckets = new Map<string, Map<string, string>>();
  const log: S3Request[] = [];
  let failPuts = 0;
  const reset = () => {
    buckets.clear();
    for (const b of bucketNames) buckets.set(b, new Map());
    log.length = 0;
    failPuts = 0;
  };
  reset();

  const handle = async (req: IncomingMessage, res: ServerResponse, entry: S3Request): Promise<number> => {
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const method = req.method ?? 'GET';
    const path = decodeURIComponent(url.pathname);
    const [, bucket = '', ...rest] = path.split('/');
    const key = rest.join('/');
    Object.assign(entry, { method, bucket, key });
    if (url.searchParams.has('X-Amz-Signature')) {
      entry.auth = 'presigned';
      const check = checkPresigned({
        method,
        path,
        query: url.searchParams,
        host: req.headers.host ?? '',
        now: now(),
        secretOf: (id) => credentials[id],
      });
      if (!check.ok) return error(res, 403, check.code, check.message);
    } else {
      const id = headerAccessKey(req.headers.authorization);
      if (id === undefined) return error(res, 403, 'AccessDenied', 'Access Denied');
      if (credentials[id] === undefined)
        return error(
          res,
          403,
          'InvalidAccessKeyId',
          'The AWS Access Key Id you provided does not exist in our records.',
        );
      entry.auth = 'header';
    }
    const objects = buckets.get(bucket);
    if (!objects) return error(res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
    const body = await readBody(req);
    if (key === '' && method === 'GET') {
      const prefix = url.searchParams.get('prefix') ?? '';
      const keys = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
      const contents = keys
        .map(
          (k) =>
            `<Contents><Key>${xmlEscape(k)}</Key><Size>${Buffer.byteLength(objects.get(k)!)}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
        )
        .join('');
      const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xmlEscape(bucket)}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${keys.length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`;
      res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml) });
      res.end(xml);
      return 200;
    }
    if (key === '')
      return error(
        res,
        405,
        'MethodNotAllowed',
        'The specified method is not allowed against this resource.',
      );
    if (entry.auth === 'presigned' && method !== 'GET')
      return error(res, 403, 'AccessDenied', 'this fake accepts presigned URLs for GetObject only');
    switch (method) {
      case 'PUT':
        if (failPuts > 0) {
          failPuts--;
          return error(res, 503, 'SlowDown', 'Please reduce your request rate.');
        }
        objects.set(key, body.toString('utf8'));
        res.writeHead(200, { ETag: '"fake"', 'Content-Length': 0 });
        res.end();
        return 200;
      case 'GET': {
        const object = objects.get(key);
        if (object === undefined) return error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
        res.writeHead(200, { 'Content-Type': 'text/csv', 'Content-Length': Buffer.byteLength(object) });
        res.end(object);
        return 200;
      }
      case 'DELETE':
        objects.delete(key);
        res.writeHead(204);
        res.end();
        return 204;
      default:
        return error(
          res,
          405,
          'MethodNotAllowed',
          'The specified method is not allowed against this resource.',
        );
    }
  };

  const server = createServer((req, res) => {
    const entry: S3Request = { method: '', bucket: '', key: '', auth: 'none', status: 0 };
    log.push(entry);
    handle(req, res, entry).then(
      (status) => void (entry.status = status),
      (e: unknown) => void (entry.status = error(res, 500, 'InternalError', String(e))),
    );
  });
  const url = await listenLocal(server);
  return {
    url,
    objects: (bucket) => new Map(buckets.get(bucket) ?? []),
    put: (bucket, key, body) => {
      const objects = buckets.get(bucket);
      if (!objects) return false;
      objects.set(key, body);
      return true;
    },
    failNextPuts: (n) => void (failPuts = n),
    get requests() {
      return log;
    },
    reset,
    close: () => closeNow(server),
  };
}
