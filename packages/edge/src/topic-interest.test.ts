import { describe, expect, it } from "vitest";
import { TopicInterest } from "./topic-interest.js";

describe("TopicInterest", () => {
  it("registers on the first subscriber and unregisters after the last", async () => {
    const calls: string[] = [];
    const t = new TopicInterest(
      async (topic) => calls.push(`+${topic}`),
      async (topic) => calls.push(`-${topic}`),
      () => undefined,
    );
    await Promise.all([t.join("a"), t.join("a")]);
    t.leave("a");
    expect(calls).toEqual(["+a"]);
    t.leave("a");
    expect(calls).toEqual(["+a", "-a"]);
    expect(t.size).toBe(0);
  });

  it("makes every joiner wait for the registration, and forgets a failed one", async () => {
    let fail = true;
    let release!: () => void;
    const t = new TopicInterest(
      () =>
        new Promise<void>((resolve, reject) => {
          release = () => (fail ? reject(new Error("down")) : resolve());
        }),
      async () => undefined,
      () => undefined,
    );
    const first = t.join("a");
    const second = t.join("a");
    release();
    await expect(first).rejects.toThrow("down");
    await expect(second).rejects.toThrow("down");
    expect(t.size).toBe(0);
    fail = false;
    const again = t.join("a");
    release();
    await expect(again).resolves.toBeUndefined();
  });
});
