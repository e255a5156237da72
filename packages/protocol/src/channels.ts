/**
 * Channel names as clients see them. A user's messages arrive on `user:<id>`,
 * broadcasts on `broadcast`, topic messages on the topic's own name.
 */
export const BROADCAST_CHANNEL = "broadcast";
export const USER_CHANNEL_PREFIX = "user:";

export const MAX_ID_LENGTH = 256;
export const MAX_CHANNEL_LENGTH = 200;

/** User ids: any printable text; control characters are refused so ids are safe in logs and line framing. */
export const USER_ID_PATTERN = /^[^\u0000-\u001f\u007f]+$/;
/** Topic names: a conservative alphabet, no glob characters (those belong to the `channels` claim). */
export const TOPIC_PATTERN = /^[A-Za-z0-9_.:@\-/=+#]+$/;

export function userChannel(userId: string): string {
  return USER_CHANNEL_PREFIX + userId;
}

/** The channel clients see a delivery on: `user:<id>`, the topic itself, or `broadcast`. */
export function deliveryChannel(kind: "user" | "topic" | "broadcast", target: string): string {
  if (kind === "user") return userChannel(target);
  return kind === "topic" ? target : BROADCAST_CHANNEL;
}

export function isValidUserId(userId: string): boolean {
  return userId.length > 0 && userId.length <= MAX_ID_LENGTH && USER_ID_PATTERN.test(userId);
}

/** Why a name cannot be a topic, or undefined when it can. */
export function topicProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > MAX_CHANNEL_LENGTH) return `must be 1 to ${MAX_CHANNEL_LENGTH} characters`;
  if (!TOPIC_PATTERN.test(name)) return "may contain only letters, digits and _ . : @ - / = + #";
  if (name === BROADCAST_CHANNEL || name.startsWith(USER_CHANNEL_PREFIX)) {
    return `"${BROADCAST_CHANNEL}" and "${USER_CHANNEL_PREFIX}*" are reserved`;
  }
  return undefined;
}

/**
 * Whether `name` matches one `channels` claim pattern: `*` matches any run of characters
 * (crossing `:`, so `workflow:*` matches `workflow:42:admin`), `%` any run within one
 * segment (no `:`, so `workflow:%` matches `workflow:42` but not `workflow:42:admin`), `?`
 * one character, anything else itself.
 *
 * Matched by walking the set of pattern positions reachable after each character of the
 * name (an NFA), in O(name × pattern) steps whatever the pattern: a regular expression with
 * several stars backtracks exponentially on a long name and froze the event loop.
 */
export function globMatches(pattern: string, name: string): boolean {
  let current: Uint8Array | undefined = closure(pattern, new Uint8Array(pattern.length + 1), 0);
  for (let c = 0; c < name.length && current; c++) current = step(pattern, current, name.charCodeAt(c));
  return current?.[pattern.length] === 1;
}

/** The pattern positions reachable from `current` by one character; undefined when none is. */
function step(pattern: string, current: Uint8Array, ch: number): Uint8Array | undefined {
  const next = new Uint8Array(pattern.length + 1);
  let any = false;
  for (let i = 0; i < pattern.length; i++) {
    if (!current[i]) continue;
    const p = pattern.charCodeAt(i);
    const stay = p === STAR || (p === SEGMENT && ch !== COLON);
    const advance = !stay && (p === ONE || p === ch);
    if (stay && !next[i]) closure(pattern, next, i);
    if (advance && !next[i + 1]) closure(pattern, next, i + 1);
    any ||= stay || advance;
  }
  return any ? next : undefined;
}

const STAR = 42; // *
const SEGMENT = 37; // %
const ONE = 63; // ?
const COLON = 58; // :

/** Marks position `i` reachable, and every position after a run of stars that may match nothing. */
function closure(pattern: string, set: Uint8Array, i: number): Uint8Array {
  let at = i;
  set[at] = 1;
  while (at < pattern.length && (pattern.charCodeAt(at) === STAR || pattern.charCodeAt(at) === SEGMENT)) {
    at++;
    set[at] = 1;
  }
  return set;
}

/** True when one of the token's `channels` patterns allows this topic. */
export function channelAllowed(patterns: readonly string[], channel: string): boolean {
  for (const p of patterns) if (globMatches(p, channel)) return true;
  return false;
}
