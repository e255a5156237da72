import { describe, expect, it } from "vitest";
import { HistoryPolicy, parseHistoryRules } from "./history-policy.js";

describe("history policy", () => {
  it("parses rules with counts, ages in every unit, and 0 for none", () => {
    expect(parseHistoryRules("user:* 100/24h, workflow:* 1000/1h , chat:* 0,team:% 5/30s, x 1/2d")).toEqual([
      { pattern: "user:*", maxEntries: 100, maxAgeMs: 86_400_000 },
      { pattern: "workflow:*", maxEntries: 1000, maxAgeMs: 3_600_000 },
      { pattern: "chat:*", maxEntries: 0, maxAgeMs: 0 },
      { pattern: "team:%", maxEntries: 5, maxAgeMs: 30_000 },
      { pattern: "x", maxEntries: 1, maxAgeMs: 172_800_000 },
    ]);
  });

  it("refuses malformed rules and limits past the bounds, naming the rule", () => {
    expect(() => parseHistoryRules("user:* 100")).toThrow(/user:\* 100/);
    expect(() => parseHistoryRules("user:* 100/1w")).toThrow(/age in s, m, h or d/);
    expect(() => parseHistoryRules("a 20000/1h")).toThrow(/at most 10000/);
    expect(() => parseHistoryRules("a 10/8d")).toThrow(/7d/);
    expect(() => parseHistoryRules("a 10/0s")).toThrow(/7d/);
  });

  it("takes the first matching rule, the operator's before the defaults", () => {
    const policy = new HistoryPolicy(parseHistoryRules("chat:* 0, workflow:* 1000/1h"));
    expect(policy.limitsFor("chat:lobby")).toEqual({ maxEntries: 0, maxAgeMs: 0 });
    expect(policy.limitsFor("workflow:42")).toEqual({ maxEntries: 1000, maxAgeMs: 3_600_000 });
    expect(policy.limitsFor("user:alice")).toEqual({ maxEntries: 20, maxAgeMs: 3_600_000 });
    expect(policy.limitsFor("broadcast")).toEqual({ maxEntries: 200, maxAgeMs: 3_600_000 });
    expect(HistoryPolicy.off().limitsFor("user:alice").maxEntries).toBe(0);
  });
});
