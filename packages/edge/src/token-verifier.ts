import { isValidUserId } from "@herald/protocol";
import { createVerifier, TokenError } from "fast-jwt";

export interface ClientIdentity {
  userId: string;
  /** Glob patterns of topics the user may subscribe to. */
  channels: readonly string[];
  /** Expiry (ms since epoch), if the token has one. */
  expiresAt: number | undefined;
}

const NO_CHANNELS: readonly string[] = [];
Object.freeze(NO_CHANNELS);

export type VerifyResult = { ok: true; identity: ClientIdentity } | { ok: false; reason: string };

/**
 * Verifies client tokens: HS256 JWTs signed with HERALD_JWT_SECRET.
 *
 * Synchronous on purpose (fast-jwt, not the async-only jose): a verdict reached inside uWS's
 * upgrade handler lets the upgrade complete there, inside the cork uWS already holds, which is
 * both the fast path and the one uWS 20.30 gets right (an upgrade corked after an await can
 * close the new socket: uWebSockets #1928).
 */
export class TokenVerifier {
  private readonly check: (token: string) => Record<string, unknown>;

  constructor(secret: string) {
    // exp and nbf are enforced by fast-jwt; only HS256 is accepted, so "none" and key confusion are out.
    this.check = createVerifier({ key: secret, algorithms: ["HS256"] });
  }

  verify(token: string): VerifyResult {
    if (!token) return { ok: false, reason: "missing token" };
    let payload: Record<string, unknown>;
    try {
      payload = this.check(token);
    } catch (err) {
      if (err instanceof TokenError && err.code === TokenError.codes.expired) {
        return { ok: false, reason: "token expired" };
      }
      return { ok: false, reason: "invalid token" };
    }
    if (typeof payload.sub !== "string" || !isValidUserId(payload.sub)) {
      return { ok: false, reason: "token has no valid sub" };
    }
    const raw = payload.channels;
    if (raw !== undefined && !(Array.isArray(raw) && raw.every((c) => typeof c === "string"))) {
      return { ok: false, reason: "channels claim must be an array of strings" };
    }
    if (payload.exp !== undefined && typeof payload.exp !== "number") {
      return { ok: false, reason: "invalid token" };
    }
    // Built whole, one shape for every identity; most tokens have no channels: share one empty list.
    return {
      ok: true,
      identity: {
        userId: payload.sub,
        channels: (raw as string[] | undefined) ?? NO_CHANNELS,
        expiresAt: payload.exp === undefined ? undefined : payload.exp * 1000,
      },
    };
  }
}
