import type { Emitter } from '../shared/bus.ts';

/** The lifecycle events ingest emits; the application's bus carries them with the rest. */
export interface IngestEvents {
  'ingest.accepted': {
    sourceId: string;
    stored: number;
    duplicates: number;
    rejected: number;
    /** Stored events, duplicates and rejections by message type (`unknown` when a refused message named none). */
    storedByType: Record<string, number>;
    duplicatesByType: Record<string, number>;
    rejectedByType: Record<string, number>;
  };
}

/** Where ingest emits its events: any bus that carries them. */
export type IngestBus = Emitter<IngestEvents>;
