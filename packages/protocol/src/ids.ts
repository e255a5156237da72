/**
 * Message ids: 9 base-36 digits of milliseconds followed by 4 of sequence, like a
 * Redis stream id squeezed into a fixed width so that string order is time order.
 * Ids are reserved in Redis (one script call per batch), so they are ordered
 * across every producer and edge, and survive a Redis restart (they follow TIME).
 */
const MS_WIDTH = 9;
const SEQ_WIDTH = 4;
export const MAX_SEQ_PER_MS = 36 ** SEQ_WIDTH - 1;
export const ID_LENGTH = MS_WIDTH + SEQ_WIDTH;
const ID_PATTERN = /^[0-9a-z]{13}$/;

export function formatId(ms: number, seq: number): string {
  return ms.toString(36).padStart(MS_WIDTH, "0") + seq.toString(36).padStart(SEQ_WIDTH, "0");
}

export function parseId(id: string): { ms: number; seq: number } | undefined {
  if (!ID_PATTERN.test(id)) return undefined;
  return { ms: Number.parseInt(id.slice(0, MS_WIDTH), 36), seq: Number.parseInt(id.slice(MS_WIDTH), 36) };
}

/** The `count` consecutive ids starting at (ms, seq), rolling the sequence into the next millisecond. */
export function idRange(ms: number, seq: number, count: number): string[] {
  const ids = new Array<string>(count);
  let m = ms;
  let s = seq;
  for (let i = 0; i < count; i++) {
    if (s > MAX_SEQ_PER_MS) {
      m += 1;
      s = 0;
    }
    ids[i] = formatId(m, s);
    s += 1;
  }
  return ids;
}
