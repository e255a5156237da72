import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

/** The browser build: one self-contained ES module, under 6 KB minified and gzipped. */
const dir = mkdtempSync(join(tmpdir(), "herald-client-bundle-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const script = fileURLToPath(new URL("../scripts/bundle.mjs", import.meta.url));

describe("browser bundle", () => {
  it("builds under its 6 KB min+gzip budget, with no import of anything, and exports the API", async () => {
    const file = join(dir, "herald-client.min.js");
    const report = JSON.parse(execFileSync(process.execPath, [script, file], { encoding: "utf8" }));
    expect(report.minGzipBytes).toBeGreaterThan(1000);
    expect(report.minGzipBytes).toBeLessThanOrEqual(6 * 1024);
    const code = readFileSync(file, "utf8");
    expect(code).not.toMatch(/\bimport\s*[({"'a-zA-Z*]|\brequire\(|process\.|Buffer/);
    const mod = await import(pathToFileURL(file).href);
    expect(Object.keys(mod).sort()).toEqual(["HeraldClient", "backoffDelay", "closeDecision", "connect"]);
  });
});
