import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { closeDecision } from "./close-codes.js";

describe("closeDecision", () => {
  it("stops on 1000 and 1009, reconnects now on 1012, with a fresh token on 4001, else after a back-off", () => {
    const decisions = Object.fromEntries(
      [1000, 1006, 1008, 1009, 1011, 1012, 1013, 4000, 4001, 4999, 1001].map((c) => [c, closeDecision(c)]),
    );
    expect(decisions).toEqual({
      1000: "stop",
      1006: "backoff",
      1008: "backoff",
      1009: "stop",
      1011: "backoff",
      1012: "now",
      1013: "backoff",
      4000: "backoff",
      4001: "token",
      4999: "backoff",
      1001: "backoff",
    });
  });

  it("agrees with the protocol's table of close codes (docs/protocol.md, itself checked against the protocol package)", () => {
    const doc = readFileSync(new URL("../../../docs/protocol.md", import.meta.url), "utf8");
    const section = doc.slice(doc.indexOf("## Close codes"), doc.indexOf("## HTTP API"));
    const rows = [...section.matchAll(/^\| (\d{4}) \| `(\w+)` +\|[^|]+\| ([^|]+)\|$/gm)];
    expect(rows.length).toBeGreaterThanOrEqual(8);
    for (const [, code, , advice] of rows) {
      const retry = !(advice as string).trim().startsWith("no");
      expect({ code, retry }).toEqual({ code, retry: closeDecision(Number(code)) !== "stop" });
      if ((advice as string).includes("now")) expect(closeDecision(Number(code))).toBe("now");
      if ((advice as string).includes("fresh token")) expect(closeDecision(Number(code))).toBe("token");
    }
  });
});
