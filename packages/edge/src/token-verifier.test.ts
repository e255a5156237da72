import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type TokenPolicy, TokenVerifier } from "./token-verifier.js";

const SECRET = "a-test-secret-of-a-reasonable-length";
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
/** Tokens built by hand, so the verifier is not checked against its own library's signer. */
const token = (
  claims: Record<string, unknown>,
  header: Record<string, unknown> = { alg: "HS256" },
  secret = SECRET,
) => {
  const input = `${b64({ typ: "JWT", ...header })}.${b64(claims)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
};
const now = () => Math.floor(Date.now() / 1000);
const policy = (over: Partial<TokenPolicy> = {}): TokenPolicy => ({
  secrets: [{ secret: SECRET }],
  clockToleranceSeconds: 0,
  maxAgeSeconds: 0,
  ...over,
});
const verifier = new TokenVerifier(policy());

describe("TokenVerifier", () => {
  it("accepts an HS256 token and returns the identity, synchronously", () => {
    const exp = now() + 60;
    expect(verifier.verify(token({ sub: "alice", channels: ["team:*"], exp }))).toEqual({
      ok: true,
      identity: { userId: "alice", channels: ["team:*"], expiresAt: exp * 1000 },
    });
    expect(verifier.verify(token({ sub: "bob" }))).toEqual({
      ok: true,
      identity: { userId: "bob", channels: [], expiresAt: undefined },
    });
  });

  it("refuses a missing, malformed, forged or expired token", () => {
    expect(verifier.verify("")).toEqual({ ok: false, reason: "missing token" });
    expect(verifier.verify("not.a.jwt")).toEqual({ ok: false, reason: "invalid token" });
    expect(verifier.verify(token({ sub: "alice" }, undefined, "another-secret"))).toEqual({
      ok: false,
      reason: "invalid token",
    });
    expect(verifier.verify(token({ sub: "alice", exp: now() - 5 }))).toEqual({ ok: false, reason: "token expired" });
    expect(verifier.verify(token({ sub: "alice", nbf: now() + 600 })).ok).toBe(false);
  });

  it("refuses other algorithms, unsigned tokens included", () => {
    const [header, payload] = token({ sub: "alice" }, { alg: "none" }).split(".");
    expect(verifier.verify(`${header}.${payload}.`).ok).toBe(false);
    const input = `${b64({ alg: "HS512", typ: "JWT" })}.${b64({ sub: "alice" })}`;
    const hs512 = `${input}.${createHmac("sha512", SECRET).update(input).digest("base64url")}`;
    expect(verifier.verify(hs512).ok).toBe(false);
  });

  it("refuses claims of the wrong shape", () => {
    expect(verifier.verify(token({}))).toEqual({ ok: false, reason: "token has no valid sub" });
    expect(verifier.verify(token({ sub: 42 }))).toEqual({ ok: false, reason: "token has no valid sub" });
    expect(verifier.verify(token({ sub: "alice", channels: "team:*" }))).toEqual({
      ok: false,
      reason: "channels claim must be an array of strings",
    });
    expect(verifier.verify(token({ sub: "alice", exp: "tomorrow" })).ok).toBe(false);
  });

  it("allows the configured clock skew: an nbf a little ahead, an exp a little past", () => {
    const skewed = new TokenVerifier(policy({ clockToleranceSeconds: 10 }));
    expect(skewed.verify(token({ sub: "alice", nbf: now() + 5 })).ok).toBe(true);
    expect(skewed.verify(token({ sub: "alice", exp: now() - 5 })).ok).toBe(true);
    expect(skewed.verify(token({ sub: "alice", nbf: now() + 60 }))).toEqual({
      ok: false,
      reason: "token not valid yet",
    });
    expect(verifier.verify(token({ sub: "alice", nbf: now() + 5 })).ok).toBe(false); // no tolerance: refused
  });

  it("refuses tokens older than the maximum age, and tokens without iat when there is one", () => {
    const bounded = new TokenVerifier(policy({ maxAgeSeconds: 3600 }));
    expect(bounded.verify(token({ sub: "alice", iat: now() - 60 })).ok).toBe(true);
    expect(bounded.verify(token({ sub: "alice", iat: now() - 7200 })).ok).toBe(false);
    expect(bounded.verify(token({ sub: "alice" }))).toEqual({ ok: false, reason: "token has no iat" });
  });

  it("accepts every configured secret while secrets rotate, and checks a named kid against its own only", () => {
    const OLD = "the-previous-secret-of-a-good-length";
    const rotating = new TokenVerifier(
      policy({
        secrets: [
          { secret: SECRET, kid: "new" },
          { secret: OLD, kid: "old" },
        ],
      }),
    );
    expect(rotating.verify(token({ sub: "alice" })).ok).toBe(true);
    expect(rotating.verify(token({ sub: "alice" }, { alg: "HS256" }, OLD)).ok).toBe(true);
    expect(rotating.verify(token({ sub: "alice" }, { alg: "HS256", kid: "old" }, OLD)).ok).toBe(true);
    expect(rotating.verify(token({ sub: "alice" }, { alg: "HS256", kid: "new" }, OLD))).toEqual({
      ok: false,
      reason: "invalid token",
    });
    expect(rotating.verify(token({ sub: "alice" }, { alg: "HS256", kid: "gone" }, OLD))).toEqual({
      ok: false,
      reason: "unknown key id",
    });
    expect(rotating.verify(token({ sub: "alice", exp: now() - 5 }, { alg: "HS256" }, OLD))).toEqual({
      ok: false,
      reason: "token expired",
    });
  });
});
