import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

/** Debian's chromium (never a downloaded browser). */
const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));

/**
 * Headless Chromium for the browser tests, or undefined (with the reason printed) when it is
 * not installed, so a local run may skip them. Under CI (CI=true) a missing Chromium is a
 * failure: .ci/run installs it (apt-get install -y chromium).
 */
export async function launchChromium(): Promise<Browser | undefined> {
  if (!CHROMIUM) {
    const why = "Chromium is not installed (Debian: apt-get install -y chromium)";
    if (process.env.CI === "true") throw new Error(`${why}; CI needs it (.ci/run installs it)`);
    console.warn(`skipping the browser tests: ${why}`);
    return undefined;
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Offline machines: no background networking, no component updates, no sync. Playwright
    // gives each launch a fresh profile of its own.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
