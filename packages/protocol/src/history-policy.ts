import { globMatches } from "./channels.js";

/** How much of one channel's past is kept for replay: 0 entries keeps none. */
export interface HistoryLimits {
  maxEntries: number;
  maxAgeMs: number;
}

export interface HistoryRule extends HistoryLimits {
  /** A channel pattern, matched as the `channels` claim's are (`*` any run, `%` within a segment). */
  pattern: string;
}

/** Most entries a rule may keep per channel: a replay reads at most this many. */
export const MAX_HISTORY_ENTRIES = 10_000;
/** Longest a rule may keep an entry. */
export const MAX_HISTORY_AGE_MS = 7 * 24 * 3600_000;

/**
 * What a channel keeps when no rule of the operator's matches it. Sized for a million
 * users whose channels all received a message within the hour (docs/operations.md, "History").
 */
export const DEFAULT_HISTORY_RULES: readonly HistoryRule[] = [
  { pattern: "user:*", maxEntries: 20, maxAgeMs: 3600_000 },
  { pattern: "*", maxEntries: 200, maxAgeMs: 3600_000 },
];

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };
const RULE = /^(\S+)\s+(?:(\d+)\s*\/\s*(\d+)([smhd])|0)$/;

/**
 * Parses rules written `<pattern> <entries>/<age>` or `<pattern> 0`, separated by commas:
 * `user:* 100/24h, workflow:* 1000/1h, chat:* 0`. Throws with the offending rule.
 */
export function parseHistoryRules(text: string): HistoryRule[] {
  const rules: HistoryRule[] = [];
  for (const part of text.split(",")) {
    const rule = part.trim();
    if (rule === "") continue;
    const m = RULE.exec(rule);
    if (!m)
      throw new Error(
        `history rule "${rule}": expected "<pattern> <entries>/<age>" (age in s, m, h or d) or "<pattern> 0"`,
      );
    const [, pattern, entries, age, unit] = m as unknown as [string, string, string?, string?, string?];
    if (entries === undefined) {
      rules.push({ pattern, maxEntries: 0, maxAgeMs: 0 });
      continue;
    }
    const maxEntries = Number(entries);
    const maxAgeMs = Number(age) * (UNIT_MS[unit as string] as number);
    if (maxEntries > MAX_HISTORY_ENTRIES)
      throw new Error(`history rule "${rule}": at most ${MAX_HISTORY_ENTRIES} entries`);
    if (maxAgeMs > MAX_HISTORY_AGE_MS || maxAgeMs === 0) throw new Error(`history rule "${rule}": age from 1s to 7d`);
    rules.push({ pattern, maxEntries: maxAgeMs === 0 ? 0 : maxEntries, maxAgeMs });
  }
  return rules;
}

const NONE: HistoryLimits = { maxEntries: 0, maxAgeMs: 0 };

/**
 * A channel's history limits: the first matching rule of the operator's, then of the
 * defaults. Resolved once per channel and remembered (a bounded cache: channels are many).
 */
export class HistoryPolicy {
  private readonly rules: readonly HistoryRule[];
  private readonly cache = new Map<string, HistoryLimits>();

  constructor(rules: readonly HistoryRule[] = [], defaults: readonly HistoryRule[] = DEFAULT_HISTORY_RULES) {
    this.rules = [...rules, ...defaults];
  }

  /** Keeps nothing anywhere. */
  static off(): HistoryPolicy {
    return new HistoryPolicy([], [{ pattern: "*", ...NONE }]);
  }

  limitsFor(channel: string): HistoryLimits {
    const cached = this.cache.get(channel);
    if (cached) return cached;
    const rule = this.rules.find((r) => globMatches(r.pattern, channel));
    const limits = rule && rule.maxEntries > 0 ? { maxEntries: rule.maxEntries, maxAgeMs: rule.maxAgeMs } : NONE;
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(channel, limits);
    return limits;
  }
}
