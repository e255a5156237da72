import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "@herald/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gateway, msg } from "./support/gateway.js";

const handlers = new URL("./fixtures/handlers.mjs", import.meta.url).pathname;
const flag = join(mkdtempSync(join(tmpdir(), "herald-flag-")), "fixed");

let g: Gateway;
beforeAll(async () => {
  g = await Gateway.start({
    env: {
      HERALD_HANDLERS: handlers,
      TEST_FLAG_FILE: flag,
      HERALD_MAX_ATTEMPTS: "3",
      HERALD_BACKOFF_MS: "50",
      HERALD_JOB_TIMEOUT_MS: "300",
    },
  });
});
afterAll(() => g?.stop());

describe("handlers, retries and dead letters", () => {
  it("retries a failing handler with back-off until it succeeds", async () => {
    const c = await g.connect("retry-user");
    await g.post(msg({ user: "retry-user" }, "flaky", { data: { v: 1 } }));
    const f = await c.next((f) => f.event === "flaky", "the flaky message");
    expect(f.data).toEqual({ v: 1, attempt: 2 });
    c.close();
  });

  it("transforms, fans out and drops through registered handlers", async () => {
    const [a, copy] = await Promise.all([g.connect("fan-user"), g.connect("fan-user-copy")]);
    await g.post({ messages: [msg({ user: "fan-user" }, "noise"), msg({ user: "fan-user" }, "fan")] });
    await a.next((f) => f.event === "fan", "original");
    await copy.next((f) => f.event === "fan" && f.channel === "user:fan-user-copy", "fanned copy");
    expect(a.messages().map((f) => f.event)).toEqual(["fan"]);
    a.close();
    copy.close();
  });

  it("dead-letters a message out of attempts and a timed-out one; the CLI lists and re-drives them", async () => {
    const c = await g.connect("dlq-user");
    const sent = await g.post({
      messages: [msg({ user: "dlq-user" }, "broken", { data: { n: 1 } }), msg({ user: "dlq-user" }, "hang")],
    });
    expect(sent.status).toBe(202);
    const listed = await waitFor(async () => {
      const entries = await g.deadLetters();
      return entries.length === 2 ? entries : undefined;
    }, "two dead letters");
    const broken = listed.find((e) => e.message.event === "broken");
    expect(broken).toMatchObject({ attempts: 3, error: "downstream is broken", message: { id: sent.json.ids[0] } });
    expect(listed.find((e) => e.message.event === "hang")?.error).toMatch(/timed out after 300 ms/);
    expect(c.messages()).toHaveLength(0);

    writeFileSync(flag, "ok"); // the downstream is fixed
    await g.cli("dlq", "retry", broken.entryId);
    const f = await c.next((f) => f.event === "broken", "re-driven message");
    expect(f).toMatchObject({ id: sent.json.ids[0], data: { n: 1 } });
    expect(await g.deadLetters()).toHaveLength(1);
    expect(await g.metric(g.workers[0]!, "herald_worker_messages_total", { outcome: "dead" })).toBe(2);
    c.close();
  });
});
