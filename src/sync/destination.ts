import type { SendOutcome } from './retry-policy.ts';
import type { ContactUpdate, SendRecord } from './model.ts';
import type { BulkJob, BulkResult } from './ports.ts';

/** What a destination said about its rate window, for the shared limiter. */
export interface RateInfo {
  remaining?: number;
  /** When the window resets (ms epoch). */
  resetAt?: number;
}

export interface SendResult {
  outcome: SendOutcome;
  record: SendRecord;
  rate: RateInfo;
}

/** What a destination holds for one contact, read back for verification. */
export type ContactLists = { exists: false } | { exists: true; lists: ReadonlySet<string> };

/** A list-based activation platform. Each failure is classified once, here at the edge. */
export interface Destination {
  readonly name: string;
  /** Makes sure the lists exist (created on first use). */
  prepareLists(lists: readonly string[]): Promise<SendResult | undefined>;
  /** Sets the contact's membership of each list in one request, creating the contact on entry if needed. */
  send(update: ContactUpdate): Promise<SendResult>;
  /** Reads the lists a contact is on. */
  read(contact: string): Promise<{ result: SendResult; lists?: ContactLists }>;
}

/** A bulk job's state as the destination reports it. */
export interface RemoteJob {
  /** Scheduled, Pending, Processing, Throttled, Failed or Done. */
  status: string;
  totalItems: number | undefined;
  completedItems: number | undefined;
  result: BulkResult | undefined;
}

/** A destination that takes large change sets of one list as an import job over a file. */
export interface BulkDestination {
  readonly name: string;
  /**
   * Starts an import that adds every contact of the file at `source` to `list` (or removes them),
   * updating existing contacts only and never their subscription status.
   */
  startImport(request: {
    list: string;
    add: boolean;
    source: Record<string, unknown>;
    importName: string;
    /** The contact key the file's one column holds (`email`, `custID`…). */
    identifier: string;
  }): Promise<{ result: SendResult; jobId?: string }>;
  /** Reads a job's status; a job the destination does not know is `not_found`. */
  jobStatus(jobId: string): Promise<{ result: SendResult; job?: RemoteJob }>;
}

/** Where a destination fetches an import job's file from. */
export interface ImportFiles {
  /** Makes the job's file available and says where (the import's `source`). */
  publish(job: BulkJob): Promise<Record<string, unknown>>;
  /** The job ended: its file is deleted (or no longer served). */
  remove(job: BulkJob): Promise<void>;
}

/** A destination that exports the members of one list as a file job (for reading back large lists). */
export interface ExportDestination {
  readonly name: string;
  /**
   * Starts an export of the contacts of `list` to `location`: one column of the contact key
   * (`identifier`) and one of the list's flag (1 on it, 0 off it).
   */
  startExport(request: {
    list: string;
    identifier: string;
    location: Record<string, unknown>;
    name: string;
  }): Promise<{ result: SendResult; jobId?: string }>;
  jobStatus(jobId: string): Promise<{ result: SendResult; job?: RemoteJob }>;
}

/** Where a destination writes export files, and how Handoff reads them back. */
export interface ExportFiles {
  /** The export's `destination` (the place it writes to) for a job named by `token`. */
  location(token: string): Record<string, unknown>;
  /** The file the export of `token` wrote; undefined while none is there. */
  read(token: string): Promise<string | undefined>;
  /** Deletes what the export of `token` wrote. */
  discard(token: string): Promise<void>;
}
