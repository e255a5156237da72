import { describe, expect, it } from "vitest";
import { channelAllowed, isValidUserId, topicProblem } from "./channels.js";

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
