// A time without a zone would be read in the machine's time zone, and would differ between machines.
const ZONED_TIME = /^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d))?$/i;

/** Whether `text` is an ISO-8601 date, or a time with `Z` or an offset: the same instant on every machine. */
export const isZonedTime = (text: string): boolean =>
  ZONED_TIME.test(text) && !Number.isNaN(Date.parse(text));
