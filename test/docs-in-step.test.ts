import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { CLOSE_CODES, ERROR_CODES, HERALD_ERRORS } from "@herald/protocol";
import { describe, expect, it } from "vitest";
import { VARIABLES } from "../packages/cli/src/config/variables.js";

/**
 * Keeps the documentation in step with the code, both ways: what the code defines is
 * documented, and what the docs list exists in the code. Reads files only; no processes.
 */

const root = fileURLToPath(new URL("..", import.meta.url));
const read = (path: string): string => readFileSync(join(root, path), "utf8");

/** Files under `dir` (relative to the repository root), recursively, that `keep` accepts. */
function filesUnder(dir: string, keep: (path: string) => boolean): string[] {
  return readdirSync(join(root, dir), { recursive: true })
    .map((f) => join(dir, String(f)))
    .filter((p) => statSync(join(root, p)).isFile() && keep(p));
}

/** The body of the `## heading` section of a markdown text, up to the next `## ` heading. */
function section(markdown: string, heading: string): string {
  const lines = markdown.split("\n");
  const start = lines.indexOf(`## ${heading}`);
  if (start < 0) throw new Error(`no section "## ${heading}"`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith("## "));
  return lines.slice(start + 1, end < 0 ? undefined : end).join("\n");
}

/** The cells of every table row in `text` (header and separator rows included), trimmed. */
function tableRows(text: string): string[][] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("|"))
    .map((l) =>
      l
        .slice(1, -1)
        .split("|")
        .map((c) => c.trim()),
    );
}

/** The backticked first cells of a section's table rows: `` `x` `` gives x. */
function firstCellKeys(text: string): string[] {
  return tableRows(text)
    .map((cells) => /^`([^`]+)`$/.exec(cells[0] ?? "")?.[1])
    .filter((k): k is string => k !== undefined);
}

/** The relative link targets of a markdown file (URLs, anchors on the same page and code blocks left out). */
function relativeLinks(file: string): string[] {
  // Code blocks may hold text that looks like a link.
  const text = read(file).replace(/^```[\s\S]*?^```/gm, "");
  return [...text.matchAll(/\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((m) => m[1] as string)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith("#"));
}

/** Why a link from `file` is broken, or undefined when it points to a file inside the repository. */
function linkProblem(file: string, target: string): string | undefined {
  const path = target.split("#")[0] as string;
  const absolute = resolve(root, dirname(file), path);
  const inside = relative(root, absolute);
  if (path.startsWith("/") || inside.startsWith("..") || inside.startsWith(sep)) {
    return `${file}: ${target} points outside the repository`;
  }
  return existsSync(absolute) ? undefined : `${file}: ${target} does not exist`;
}

const protocolDoc = read("docs/protocol.md");
const operationsDoc = read("docs/operations.md");
const readme = read("README.md");

describe("docs/protocol.md", () => {
  const errorTable = firstCellKeys(section(protocolDoc, "Error codes"));
  const sdkTable = firstCellKeys(section(protocolDoc, "Internal error codes of the Node SDK"));
  const closeTable = tableRows(section(protocolDoc, "Close codes"))
    .map((cells) => /^\d{4}$/.exec(cells[0] ?? "")?.[0])
    .filter((c): c is string => c !== undefined)
    .map(Number);

  it("lists every client error code, and only those", () => {
    expect(errorTable.length).toBeGreaterThan(0);
    for (const code of Object.keys(ERROR_CODES)) expect(errorTable, `error code ${code}`).toContain(code);
    for (const code of errorTable) expect(Object.keys(ERROR_CODES), `documented error code ${code}`).toContain(code);
  });

  it("lists every close code, and only those", () => {
    const codes = Object.values(CLOSE_CODES).map((c) => c.code);
    for (const code of codes) {
      expect(protocolDoc, `close code ${code}`).toContain(String(code));
      expect(closeTable, `close code ${code} in the table`).toContain(code);
    }
    for (const code of closeTable) expect(codes, `documented close code ${code}`).toContain(code);
  });

  it("lists every internal error code of the SDK, and only those", () => {
    expect(sdkTable.length).toBeGreaterThan(0);
    for (const code of Object.keys(HERALD_ERRORS)) expect(sdkTable, `internal error ${code}`).toContain(code);
    for (const code of sdkTable)
      expect(Object.keys(HERALD_ERRORS), `documented internal error ${code}`).toContain(code);
  });
});

describe("README configuration table", () => {
  const rows = tableRows(section(readme, "Configuration"));
  const rowOf = (env: string) => rows.find((cells) => cells[0] === `\`${env}\``);

  it("has a row for every variable, with its default and roles", () => {
    for (const v of Object.values(VARIABLES)) {
      const cells = rowOf(v.env);
      expect(cells, v.env).toBeDefined();
      if (v.default !== "") expect(cells?.[1], `${v.env} default`).toContain(`\`${v.default}\``);
      expect(cells?.[2], `${v.env} roles`).toBe(v.roles.join(", "));
    }
  });

  it("documents no variable the code does not read", () => {
    const known = new Set(Object.values(VARIABLES).map((v) => v.env));
    const documented = firstCellKeys(section(readme, "Configuration")).filter((k) =>
      /^(HERALD_[A-Z0-9_]+|REDIS_URL|LOG_LEVEL)$/.test(k),
    );
    expect(documented.length).toBe(known.size);
    for (const env of documented) expect(known.has(env), `documented variable ${env}`).toBe(true);
  });
});

describe("docs/operations.md metrics table", () => {
  /** Every metric name the code defines (`name: "herald_…"` in a non-test source file). */
  const defined = new Set<string>();
  for (const pkg of readdirSync(join(root, "packages"))) {
    const src = join("packages", pkg, "src");
    if (!existsSync(join(root, src))) continue;
    for (const file of filesUnder(src, (p) => p.endsWith(".ts") && !p.endsWith(".test.ts"))) {
      for (const m of read(file).matchAll(/name: "(herald_[a-z_]+)"/g)) defined.add(m[1] as string);
    }
  }
  const documented = firstCellKeys(section(operationsDoc, "Metrics"))
    .map((k) => /^herald_[a-z_]+/.exec(k)?.[0])
    .filter((n): n is string => n !== undefined);

  it("finds the metrics in the code (the collection itself works)", () => {
    expect(defined.size).toBeGreaterThanOrEqual(15);
    expect(defined.has("herald_connections")).toBe(true);
  });

  it("documents every metric the code defines", () => {
    const missing = [...defined].filter((n) => !documented.includes(n));
    expect(missing, "metrics missing from docs/operations.md").toEqual([]);
  });

  it("documents only metrics the code defines", () => {
    const unknown = documented.filter((n) => !defined.has(n));
    expect(unknown, "metrics in docs/operations.md that the code does not define").toEqual([]);
  });
});

describe("README and docs/", () => {
  const markdown = ["README.md", ...filesUnder("docs", (p) => p.endsWith(".md"))];

  it("find the documents", () => {
    expect(markdown.length).toBeGreaterThanOrEqual(10);
  });

  it("never point outside the repository and never speak of issues or sessions", () => {
    const problems: string[] = [];
    for (const file of markdown) {
      const text = read(file);
      if (text.includes("../shared")) problems.push(`${file}: links to ../shared`);
      for (const re of [/\bissues? #?\d+/i, /\bsessions? \d+/i, /\bnext issue\b/i, /\bnot built yet\b/i]) {
        const m = re.exec(text);
        if (m) problems.push(`${file}: "${m[0]}"`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("link only to files that exist in the repository", () => {
    const links = markdown.flatMap((file) => relativeLinks(file).map((target) => ({ file, target })));
    expect(links.length).toBeGreaterThan(10);
    const problems = links
      .map(({ file, target }) => linkProblem(file, target))
      .filter((p): p is string => p !== undefined);
    expect(problems).toEqual([]);
  });
});
