import { gunzipSync } from 'node:zlib';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ExportFiles, ImportFiles } from '../../destination.ts';
import type { BulkJob, BulkStore } from '../../ports.ts';
import { importFile } from './import-file.ts';

/** The bucket import and export files go through (see the config schema for each field). */
export interface S3Location {
  bucket: string;
  /** Key prefix, e.g. `handoff/`; imports go under `<prefix>imports/`, exports under `<prefix>exports/`. */
  prefix: string;
  region: string;
  /** An S3-compatible endpoint instead of AWS's (path-style addressing); none for AWS. */
  endpoint?: string | undefined;
  /** How long a presigned import URL stays valid (seconds). Default one day. */
  urlExpirySeconds?: number;
}

export interface S3FilesOptions extends S3Location {
  /** The ledger the import files are read from. */
  store: BulkStore;
  /** A file that could not be deleted: the job is over either way; a lifecycle rule on the prefix cleans up. */
  onRemoveError: (key: string, error: unknown) => void;
  /** Credentials come from the AWS SDK's default chain; a client may be passed instead (tests). */
  client?: S3Client;
}

/**
 * Import and export files in an S3 bucket. An import's CSV is written from the ledger to
 * `<prefix>imports/<token>.csv` and handed to Cordial as a presigned HTTPS GET URL, so Cordial
 * needs no credentials of ours; an export is written by Cordial's S3 transport under
 * `<prefix>exports/<token>/`, which the bucket's policy must allow it to write. Both are deleted
 * when their job ends.
 */
export class S3Files implements ImportFiles, ExportFiles {
  readonly client: S3Client;
  private readonly prefix: string;

  constructor(private readonly options: S3FilesOptions) {
    this.prefix = options.prefix === '' || options.prefix.endsWith('/') ? options.prefix : `${options.prefix}/`;
    this.client =
      options.client ??
      new S3Client({
        region: options.region,
        ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
      });
  }

  private importKey(job: BulkJob): string {
    return `${this.prefix}imports/${job.token}.csv`;
  }

  private exportPath(token: string): string {
    return `${this.prefix}exports/${token}`;
  }

  /** Uploads the job's file; throws when S3 refuses (the submit is then retried). */
  async publish(job: BulkJob): Promise<Record<string, unknown>> {
    const { bucket } = this.options;
    const lines = await importFile(this.options.store, job.token);
    if (!lines) throw new Error(`bulk job ${job.id} is no longer planned or running`);
    const parts: string[] = [];
    for await (const part of lines) parts.push(part);
    const Key = this.importKey(job);
    await this.client.send(
      new PutObjectCommand({ Bucket: bucket, Key, Body: Buffer.from(parts.join('')), ContentType: 'text/csv' }),
    );
    const url = await getSignedUrl(this.client, new GetObjectCommand({ Bucket: bucket, Key }), {
      expiresIn: this.options.urlExpirySeconds ?? 86_400,
    });
    return { transport: url.startsWith('https:') ? 'HTTPS' : 'HTTP', url };
  }

  async remove(job: BulkJob): Promise<void> {
    await this.delete(this.importKey(job));
  }

  location(token: string): Record<string, unknown> {
    return {
      type: 'S3',
      aws_bucket: this.options.bucket,
      aws_region: this.options.region,
      path: this.exportPath(token),
    };
  }

  async read(token: string): Promise<string | undefined> {
    const keys = await this.keysOf(token);
    if (keys.length === 0) return undefined;
    const texts: string[] = [];
    for (const Key of keys) {
      const got = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key }));
      const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? []);
      texts.push((Key.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8'));
    }
    // Several parts: each repeats the header; the reader takes the first and skips the rest.
    return texts.join('\n');
  }

  async discard(token: string): Promise<void> {
    for (const key of await this.keysOf(token)) await this.delete(key);
  }

  private async keysOf(token: string): Promise<string[]> {
    const listed = await this.client.send(
      new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: `${this.exportPath(token)}/` }),
    );
    return (listed.Contents ?? []).map((c) => c.Key ?? '').filter((k) => k !== '').sort();
  }

  private async delete(Key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key }));
    } catch (error) {
      this.options.onRemoveError(Key, error);
    }
  }
}
