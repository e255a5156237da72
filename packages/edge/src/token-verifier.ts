import { isValidUserId } from "@herald/protocol";
import { createVerifier, TokenError } from "fast-jwt";

export interface ClientIdentity {
  userId: string;
  /** Glob patterns of topics the user may subscribe to. */
  channels: readonly string[];
  /** Expiry (ms since epoch), if the token has one. */
  expiresAt: number | undefined;
}

/** One secret tokens may be signed with; `kid` names it in the token's header. */
export interface SigningSecret {
  secret: string;
  kid?: string | undefined;
}

export interface TokenPolicy {
  /**
   * The secrets accepted, the current one first. Several at once let secrets rotate without
   * dropping users: a token whose header names a `kid` is checked against that secret only,
   * one without against each in turn.
   */
  secrets: readonly SigningSecret[];
  /** Allowance for the issuer's clock being ahead or behind this node's (`nbf`, `exp`, `iat`). */
  clockToleranceSeconds: number;
  /** Tokens issued (`iat`) longer ago than this are refused, and a token without `iat` too; 0: no limit. */
  maxAgeSeconds: number;
}

const NO_CHANNELS: readonly string[] = [];
Object.freeze(NO_CHANNELS);

export type VerifyResult = { ok: true; identity: ClientIdentity } | { ok: false; reason: string };

type Check = (token: string) => Record<string, unknown>;

/**
 * Verifies client tokens: HS256 JWTs signed with one of the configured secrets.
 *
 * Synchronous on purpose (fast-jwt, not the async-only jose): a verdict reached inside uWS's
 * upgrade handler lets the upgrade complete there, inside the cork uWS already holds
 * (docs/decisions/sync-token-verification.md).
 */
export class TokenVerifier {
  private readonly checks: Check[];
  private readonly byKid = new Map<string, Check>();

  constructor(policy: TokenPolicy) {
    if (policy.secrets.length === 0) throw new Error("at least one token secret is needed");
    const maxAge = policy.maxAgeSeconds > 0 ? policy.maxAgeSeconds * 1000 : undefined;
    this.checks = policy.secrets.map(({ secret, kid }) => {
      // exp and nbf are enforced by fast-jwt; only HS256 is accepted, so "none" and key confusion are out.
      const check: Check = createVerifier({
        key: secret,
        algorithms: ["HS256"],
        clockTolerance: policy.clockToleranceSeconds * 1000,
        ...(maxAge ? { maxAge, requiredClaims: ["iat"] } : {}),
      });
      if (kid !== undefined) this.byKid.set(kid, check);
      return check;
    });
  }

  verify(token: string): VerifyResult {
    if (!token) return { ok: false, reason: "missing token" };
    const kid = kidOf(token);
    const candidates = kid === undefined ? this.checks : [this.byKid.get(kid)].filter((c) => c !== undefined);
    if (candidates.length === 0) return { ok: false, reason: "unknown key id" };
    let payload: Record<string, unknown> | undefined;
    for (const check of candidates) {
      const r = attempt(check, token);
      if (r.ok) {
        payload = r.payload;
        break;
      }
      if (r.reason !== "invalid signature") return { ok: false, reason: r.reason };
    }
    if (!payload) return { ok: false, reason: "invalid token" };
    return identityOf(payload);
  }
}

function attempt(check: Check, token: string) {
  try {
    return { ok: true, payload: check(token) } as const;
  } catch (err) {
    const code = err instanceof TokenError ? err.code : undefined;
    if (code === TokenError.codes.invalidSignature) return { ok: false, reason: "invalid signature" } as const;
    if (code === TokenError.codes.expired) return { ok: false, reason: "token expired" } as const;
    if (code === TokenError.codes.inactive) return { ok: false, reason: "token not valid yet" } as const;
    if (code === TokenError.codes.missingRequiredClaim) return { ok: false, reason: "token has no iat" } as const;
    return { ok: false, reason: "invalid token" } as const;
  }
}

/** The `kid` of a token's header, if it names one (the signature is checked after). */
function kidOf(token: string): string | undefined {
  const dot = token.indexOf(".");
  if (dot <= 0) return undefined;
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, dot), "base64url").toString("utf8")) as { kid?: unknown };
    return typeof header.kid === "string" ? header.kid : undefined;
  } catch {
    return undefined; // not JSON: the verifier reports the token as malformed
  }
}

function identityOf(payload: Record<string, unknown>): VerifyResult {
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
