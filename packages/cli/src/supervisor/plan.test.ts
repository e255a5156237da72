import { describe, expect, it } from "vitest";
import { processPlan, supervised } from "./plan.js";

describe("process plan", () => {
  it("runs one edge and one worker process per two cores for `all`, at least one of each", () => {
    const all = { role: "all", edgeProcesses: "auto", workerProcesses: "auto" } as const;
    expect(processPlan(all, 1)).toEqual({ edges: 1, workers: 1 });
    expect(processPlan(all, 2)).toEqual({ edges: 1, workers: 1 });
    expect(processPlan(all, 8)).toEqual({ edges: 4, workers: 4 });
    expect(processPlan({ ...all, edgeProcesses: 3 }, 2)).toEqual({ edges: 3, workers: 1 });
    expect(supervised(processPlan(all, 2))).toBe(true);
  });

  it("runs a role alone in one process unless set, supervised only past one", () => {
    const edge = { role: "edge", edgeProcesses: "auto", workerProcesses: "auto" } as const;
    expect(processPlan(edge, 16)).toEqual({ edges: 1, workers: 0 });
    expect(supervised(processPlan(edge, 16))).toBe(false);
    expect(processPlan({ ...edge, edgeProcesses: 4 }, 2)).toEqual({ edges: 4, workers: 0 });
    expect(supervised(processPlan({ ...edge, edgeProcesses: 4 }, 2))).toBe(true);
    const worker = { role: "worker", edgeProcesses: "auto", workerProcesses: 2 } as const;
    expect(processPlan(worker, 2)).toEqual({ edges: 0, workers: 2 });
  });
});
