import { describe, expect, it } from "vitest";
import { channelAllowed, globMatches, isValidUserId, topicProblem } from "./channels.js";

describe("channels", () => {
  it("matches claim globs: * any run, ? one character, the rest literally", () => {
    expect(channelAllowed(["workflow:*"], "workflow:42")).toBe(true);
    expect(channelAllowed(["workflow:*"], "workflows:42")).toBe(false);
    expect(channelAllowed(["team:7"], "team:7")).toBe(true);
    expect(channelAllowed(["team:7"], "team:70")).toBe(false);
    expect(channelAllowed(["team:?"], "team:8")).toBe(true);
    expect(channelAllowed(["a.b"], "axb")).toBe(false);
    expect(channelAllowed([], "anything")).toBe(false);
    expect(channelAllowed(["*"], "anything")).toBe(true);
    expect(channelAllowed(["*:7"], "team:7")).toBe(true);
    expect(channelAllowed(["a*b*c"], "aXbYbZc")).toBe(true);
    expect(channelAllowed(["a*b*c"], "aXbYbZ")).toBe(false);
    expect(channelAllowed(["??"], "abc")).toBe(false);
  });

  it("lets * cross segments and % stay within one", () => {
    expect(globMatches("workflow:*", "workflow:42:admin")).toBe(true);
    expect(globMatches("workflow:%", "workflow:42")).toBe(true);
    expect(globMatches("workflow:%", "workflow:42:admin")).toBe(false);
    expect(globMatches("workflow:%:log", "workflow:42:log")).toBe(true);
    expect(globMatches("workflow:%:log", "workflow:4:2:log")).toBe(false);
    expect(globMatches("%", "")).toBe(true);
    expect(globMatches("", "")).toBe(true);
    expect(globMatches("", "x")).toBe(false);
  });

  it("matches a many-star pattern against a long name without backtracking", () => {
    // A backtracking regular expression takes on the order of 200^7 steps here: the test would never end.
    const pattern = "*a*a*a*a*a*a*a*b";
    expect(globMatches(pattern, "a".repeat(200))).toBe(false);
    expect(globMatches(pattern, `${"a".repeat(199)}b`)).toBe(true);
    expect(globMatches("%a%a%a%a%a%a%a%b", "a".repeat(200))).toBe(false);
  });

  it("reserves user: and broadcast, and refuses odd characters in topics", () => {
    expect(topicProblem("workflow:42")).toBeUndefined();
    expect(topicProblem("user:bob")).toMatch(/reserved/);
    expect(topicProblem("broadcast")).toMatch(/reserved/);
    expect(topicProblem("has space")).toBeDefined();
    expect(topicProblem("glob*")).toBeDefined();
    expect(topicProblem("")).toBeDefined();
    expect(topicProblem("x".repeat(201))).toBeDefined();
  });

  it("accepts user ids without control characters", () => {
    expect(isValidUserId("alice@example.com")).toBe(true);
    expect(isValidUserId("tab\there")).toBe(false);
    expect(isValidUserId("new\nline")).toBe(false);
    expect(isValidUserId("")).toBe(false);
  });
});
