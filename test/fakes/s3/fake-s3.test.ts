// The S3 fake as the AWS SDK sees it: objects written, listed, read and deleted with header
// signatures, and presigned URLs that work as signed and fail tampered with or expired.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { FakeS3 } from './index.ts';
import { startFakeS3 } from './index.ts';

let now = Date.now();
let s3: FakeS3;
let client: S3Client;
const Bucket = 'handoff-test';

before(async () => {
  s3 = await startFakeS3({ now: () => now });
  client = new S3Client({
    region: 'us-east-1',
    endpoint: s3.url,
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake-secret' },
  });
});
after(async () => {
  client.destroy();
  await s3.close();
});
beforeEach(() => {
  s3.reset();
  now = Date.now();
});

test('an object is written, listed under its prefix, read back and deleted', async () => {
  await client.send(new PutObjectCommand({ Bucket, Key: 'p/a b.csv', Body: Buffer.from('x\n1\n') }));
  await client.send(new PutObjectCommand({ Bucket, Key: 'q/c.csv', Body: 'y' }));
  const listed = await client.send(new ListObjectsV2Command({ Bucket, Prefix: 'p/' }));
  assert.deepEqual(
    listed.Contents?.map((c) => c.Key),
    ['p/a b.csv'],
  );
  const got = await client.send(new GetObjectCommand({ Bucket, Key: 'p/a b.csv' }));
  assert.equal(await got.Body?.transformToString(), 'x\n1\n');
  await client.send(new DeleteObjectCommand({ Bucket, Key: 'p/a b.csv' }));
  assert.deepEqual([...s3.objects(Bucket).keys()], ['q/c.csv']);
});

test('a presigned URL reads the object; tampered, signed with another secret or expired it is refused', async () => {
  s3.put(Bucket, 'imports/t.csv', 'channels.email.address\na@x.com\n');
  const url = await getSignedUrl(client, new GetObjectCommand({ Bucket, Key: 'imports/t.csv' }), {
    expiresIn: 60,
  });
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'channels.email.address\na@x.com\n');

  const tampered = url.replace('imports/t.csv', 'imports/u.csv');
  s3.put(Bucket, 'imports/u.csv', 'secret');
  assert.equal((await fetch(tampered)).status, 403);

  const other = new S3Client({
    region: 'us-east-1',
    endpoint: s3.url,
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKIAFAKE', secretAccessKey: 'wrong' },
  });
  const forged = await getSignedUrl(other, new GetObjectCommand({ Bucket, Key: 'imports/t.csv' }), {
    expiresIn: 60,
  });
  other.destroy();
  const refused = await fetch(forged);
  assert.equal(refused.status, 403);
  assert.match(await refused.text(), /SignatureDoesNotMatch/);

  now += 61_000;
  const expired = await fetch(url);
  assert.equal(expired.status, 403);
  assert.match(await expired.text(), /Request has expired/);
});

test('an unknown bucket is NoSuchBucket; a missing key NoSuchKey; an injected SlowDown fails the put', async () => {
  await assert.rejects(
    client.send(new PutObjectCommand({ Bucket: 'nope', Key: 'k', Body: 'x' })),
    /NoSuchBucket|bucket does not exist/,
  );
  await assert.rejects(
    client.send(new GetObjectCommand({ Bucket, Key: 'missing' })),
    /NoSuchKey|key does not exist/,
  );
  s3.failNextPuts(1);
  const retrying = new S3Client({
    region: 'us-east-1',
    endpoint: s3.url,
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake-secret' },
  });
  await assert.rejects(
    retrying.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x' })),
    /reduce your request rate|SlowDown/,
  );
  await retrying.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x' }));
  retrying.destroy();
  assert.equal(s3.objects(Bucket).get('k'), 'x');
});
