import { webcrypto } from "node:crypto";
import { isValidUserId } from "@herald/protocol";
import { errors, jwtVerify } from "jose";

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

/** Verifies client tokens: HS256 JWTs signed with HERALD_JWT_SECRET. */
export class TokenVerifier {
  /** Imported once: handed raw bytes, jose would import the key again on every verify. */
  private readonly key: Promise<webcrypto.CryptoKey>;

  constructor(secret: string) {
    this.key = webcrypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    );
  }

  async verify(token: string): Promise<VerifyResult> {
    if (!token) return { ok: false, reason: "missing token" };
    try {
      const { payload } = await jwtVerify(token, await this.key, { algorithms: ["HS256"] });
      if (typeof payload.sub !== "string" || !isValidUserId(payload.sub)) {
        return { ok: false, reason: "token has no valid sub" };
      }
      const raw = payload.channels;
      if (raw !== undefined && !(Array.isArray(raw) && raw.every((c) => typeof c === "string"))) {
        return { ok: false, reason: "channels claim must be an array of strings" };
      }
      // Built whole, one shape for every identity; most tokens have no channels: share one empty list.
      const identity: ClientIdentity = {
        userId: payload.sub,
        channels: (raw as string[] | undefined) ?? NO_CHANNELS,
        expiresAt: payload.exp === undefined ? undefined : payload.exp * 1000,
      };
      return { ok: true, identity };
    } catch (err) {
      if (err instanceof errors.JWTExpired) return { ok: false, reason: "token expired" };
      return { ok: false, reason: "invalid token" };
    }
  }
}
