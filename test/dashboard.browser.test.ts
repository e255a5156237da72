import { waitFor } from "@herald/testkit";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./support/browser.js";
import { Gateway, msg } from "./support/gateway.js";

/** The operator dashboard in a real headless Chromium. */
let g: Gateway;
let browser: Browser | undefined;
beforeAll(async () => {
  g = await Gateway.start({ edges: 1, workers: 1, env: { HERALD_DASHBOARD: "1" } });
  browser = await launchChromium();
}, 90_000);
afterAll(async () => {
  await browser?.close();
  await g?.stop();
});

describe("the dashboard in Chromium", () => {
  it("shows the connection and a delivered count that grows, with no console error", async (ctx) => {
    if (!browser) return ctx.skip();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${g.port}/dashboard`);
    await page.fill("#key", g.apiKey);
    await page.click("button[type=submit]");
    const client = await g.connect("seen-in-browser");
    await waitFor(async () => (await page.textContent("#connections")) === "1", "one connection shown");
    await waitFor(
      async () => (await page.textContent("#edges")) === "1" && (await page.textContent("#workers")) === "1",
      "the processes",
    );
    const shown = async () => Number((await page.textContent("#delivered"))?.replace(/\D/g, "") || "0");
    const before = await shown();
    for (let i = 0; i < 3; i++) await g.post(msg({ user: "seen-in-browser" }, "counted"));
    await waitFor(async () => (await shown()) >= before + 3, "the delivered count to grow on the page");
    // The README's screenshot is taken by `SCREENSHOTS=1 npx vitest run test/dashboard.browser.test.ts`.
    if (process.env.SCREENSHOTS === "1") {
      await page.screenshot({ path: new URL("../docs/images/dashboard.png", import.meta.url).pathname });
    }
    expect(errors).toEqual([]);
    client.close();
  }, 60_000);
});
