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

const globCache = new Map<string, RegExp>();
const GLOB_CACHE_LIMIT = 10_000;

/** Compiles a `channels` claim pattern: `*` matches any run of characters, `?` one character. */
export function globToRegExp(pattern: string): RegExp {
  let re = globCache.get(pattern);
  if (re) return re;
  const body = pattern
    .split("")
    .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[\\^$.|+()[\]{}]/g, "\\$&")))
    .join("");
  re = new RegExp(`^${body}$`);
  if (globCache.size >= GLOB_CACHE_LIMIT) globCache.clear();
  globCache.set(pattern, re);
  return re;
}

/** True when one of the token's `channels` patterns allows this topic. */
export function channelAllowed(patterns: readonly string[], channel: string): boolean {
  for (const p of patterns) if (globToRegExp(p).test(channel)) return true;
  return false;
}
