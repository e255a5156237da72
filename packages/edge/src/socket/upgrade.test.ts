import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConnectionPool } from "../connection-pool.js";
import { STATUS } from "../http/respond.js";
import { TokenVerifier } from "../token-verifier.js";
import type { ClientSocket } from "./client-socket.js";
import { decideUpgrade, upgradeToken } from "./upgrade.js";

const SECRET = "an-upgrade-test-secret-0123456789";
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const token = (claims: Record<string, unknown>) => {
  const input = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}`;
  return `${input}.${createHmac("sha256", SECRET).update(input).digest("base64url")}`;
};
const verifier = new TokenVerifier({ secrets: [{ secret: SECRET }], clockToleranceSeconds: 0, maxAgeSeconds: 0 });

function deps(refusing?: "draining" | "not_ready", limits = { maxConnections: 2, maxConnectionsPerUser: 1 }) {
  return { refusing, verifier, pool: new ConnectionPool<ClientSocket>(limits), frameBurst: 10 };
}
const req = (t: string, since = "", broadcastSince = "") => ({ token: t, since, broadcastSince, now: 1000 });

describe("decideUpgrade", () => {
  it("refuses a draining or not-ready node before looking at the token", () => {
    expect(decideUpgrade(req(""), deps("draining"))).toMatchObject({
      ok: false,
      status: STATUS.unavailable,
      reason: "draining",
    });
    expect(decideUpgrade(req(token({ sub: "a" })), deps("not_ready"))).toMatchObject({
      ok: false,
      reason: "not_ready",
    });
  });

  it("refuses a bad token with 401, and a full node or user, taking no slot for a refusal", () => {
    const d = deps();
    expect(decideUpgrade(req("nope"), d)).toMatchObject({
      ok: false,
      status: STATUS.unauthorized,
      reason: "unauthorized",
    });
    expect(decideUpgrade(req(token({ sub: "a" })), d)).toMatchObject({ ok: true });
    expect(decideUpgrade(req(token({ sub: "a" })), d)).toMatchObject({
      ok: false,
      status: STATUS.tooMany,
      reason: "user_full",
    });
    expect(decideUpgrade(req(token({ sub: "b" })), d)).toMatchObject({ ok: true });
    expect(decideUpgrade(req(token({ sub: "c" })), d)).toMatchObject({ ok: false, reason: "node_full" });
    expect(d.pool.size).toBe(2);
  });

  it("gives an accepted connection its identity, the time and the since to answer", () => {
    const r = decideUpgrade(req(token({ sub: "ann", channels: ["room:*"] }), "0000000000000"), deps());
    expect(r.ok && r.conn).toMatchObject({
      state: "connecting",
      openedAt: 1000,
      resumeFrom: "0000000000000",
      identity: { userId: "ann", channels: ["room:*"] },
    });
  });

  it("takes broadcastSince as a subscribe frame answered with welcome", () => {
    const r = decideUpgrade(req(token({ sub: "ann" }), "", "0000000000001"), deps());
    expect(r.ok && r.conn.early?.map((f) => JSON.parse(f as string))).toEqual([
      { type: "subscribe", channel: "broadcast", since: "0000000000001" },
    ]);
    const none = decideUpgrade(req(token({ sub: "bob" })), deps());
    expect(none.ok && none.conn.early).toBeUndefined();
  });

  it("takes the token from the query, else from a Bearer header", () => {
    expect(upgradeToken("q", "Bearer h")).toBe("q");
    expect(upgradeToken("", "Bearer h")).toBe("h");
    expect(upgradeToken("", "bearer   h2")).toBe("h2");
    expect(upgradeToken("", "Basic x")).toBe("");
  });
});
