import type { HeraldProcess } from "@herald/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Gateway } from "./support/gateway.js";

/**
 * Heartbeats on a real edge: each client is pinged every HERALD_HEARTBEAT_SECONDS (4 here, so
 * uWS drops a socket that received nothing for 12 s); one that answers stays, one that does
 * not is dropped.
 */
let g: Gateway;
beforeAll(async () => {
  g = await Gateway.start({ env: { HERALD_HEARTBEAT_SECONDS: "4" } });
});
afterAll(() => g?.stop());

async function open(
  user: string,
  autoPong: boolean,
): Promise<{ ws: WebSocket; pings: number[]; closed: Promise<number> }> {
  const port = (g.edges[0] as HeraldProcess).port;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws?token=${await g.token(user)}`, { autoPong });
  const pings: number[] = [];
  ws.on("ping", () => pings.push(performance.now()));
  const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
  await new Promise((resolve, reject) => {
    ws.once("message", resolve); // welcome
    ws.once("error", reject);
  });
  return { ws, pings, closed };
}

describe("heartbeats", () => {
  it("pings a client every interval, keeps one that answers and drops one that does not", async () => {
    const answering = await open("pong", true);
    const silent = await open("mute", false);
    const started = performance.now();
    const silentCode = await Promise.race([silent.closed, new Promise<number>((r) => setTimeout(() => r(-1), 20_000))]);
    const silentAfter = performance.now() - started;
    // uWS's idle timeout is 12 s (4 s steps): the silent client goes between 8 and 20 s in.
    expect(silentCode).not.toBe(-1);
    expect(silentAfter).toBeGreaterThan(7_000);
    expect(silent.pings.length).toBeGreaterThanOrEqual(1);
    // The answering client outlived the idle timeout, pinged about every 4 s.
    await new Promise((r) => setTimeout(r, Math.max(0, 13_000 - silentAfter)));
    expect(answering.ws.readyState).toBe(WebSocket.OPEN);
    expect(answering.pings.length).toBeGreaterThanOrEqual(3);
    const gaps = answering.pings.slice(1).map((t, i) => t - (answering.pings[i] as number));
    for (const gap of gaps) {
      expect(gap).toBeGreaterThan(2_500);
      expect(gap).toBeLessThan(5_500);
    }
    answering.ws.close();
  }, 40_000);
});
