import { waitFor } from "@herald/testkit";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./support/browser.js";
import { Gateway, msg } from "./support/gateway.js";

/** The demo page in a real headless Chromium, on two edges: one is killed under it. */
let g: Gateway;
let browser: Browser | undefined;
let page: Page;
const errors: string[] = [];
beforeAll(async () => {
  g = await Gateway.start({ edges: 2, workers: 1, env: { HERALD_DEV: "1" } });
  browser = await launchChromium();
}, 90_000);
afterAll(async () => {
  await browser?.close();
  await g?.stop();
});

const titles = () => page.$$eval("li.note", (items) => items.map((li) => li.textContent ?? ""));

describe("the demo page in Chromium", () => {
  it("loads Herald's browser client with no console error and goes live", async (ctx) => {
    if (!browser) return ctx.skip();
    page = await browser.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    const [a, b] = g.edges.map((e) => `ws://127.0.0.1:${e.port}/v1/ws`);
    const token = await g.token("alice", { channels: ["workflow:*"] });
    await page.goto(`http://127.0.0.1:${g.edges[0]?.port}/demo/#token=${token}&key=${g.apiKey}&urls=${a},${b}`);
    await page.waitForSelector('#state[data-state="live"]');
    expect(await page.textContent("#state")).toMatch(/^live on edge-[01]$/);
    expect(errors).toEqual([]);
  });

  it("shows a user message and a workflow's progress", async (ctx) => {
    if (!browser) return ctx.skip();
    await g.post(msg({ user: "alice" }, "notification", { data: { title: "first" }, priority: "high" }));
    await waitFor(async () => (await titles()).some((t) => t.includes("first")), "the notification on the page");
    expect(await page.textContent("#unread")).toBe("1");
    await g.post(msg({ channel: "workflow:42" }, "progress", { data: { task: "build", progress: 40 } }));
    await page.waitForSelector('[data-task="build"] .bar > div[style*="40%"]');
  });

  it("survives its edge being killed: reconnects to the other edge and shows what it missed, once", async (ctx) => {
    if (!browser) return ctx.skip();
    // The edge the page is on, by its node id (the gateway lists edges in the order they came up).
    const node = (await page.textContent("#state"))?.replace("live on ", "");
    const on = g.edges.findIndex((e) => e.logs.some((l) => l.node === node));
    expect(on).toBeGreaterThanOrEqual(0);
    const other = 1 - on;
    const otherNode = node === "edge-0" ? "edge-1" : "edge-0";
    await g.edges[on]?.stop("SIGKILL");
    for (const title of ["missed-1", "missed-2", "missed-3"]) {
      const res = await g.post(msg({ user: "alice" }, "notification", { data: { title } }), { edge: other });
      expect(res.status).toBe(202);
    }
    await page.waitForSelector(`#state[data-state="live"]:has-text("${otherNode}")`, { timeout: 30_000 });
    await waitFor(async () => (await titles()).filter((t) => t.includes("missed-")).length >= 3, "the missed ones");
    const all = await titles();
    for (const title of ["first", "missed-1", "missed-2", "missed-3"]) {
      expect(all.filter((t) => t.includes(`: ${title}`))).toHaveLength(1);
    }
    expect(all).toHaveLength(4);
    // The README's screenshot: `SCREENSHOTS=1 npx vitest run test/demo.browser.test.ts`.
    if (process.env.SCREENSHOTS === "1") {
      await page.screenshot({ path: new URL("../docs/images/demo.png", import.meta.url).pathname });
    }
  }, 60_000);
});
