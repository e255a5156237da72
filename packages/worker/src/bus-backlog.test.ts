import { Keys, NODE_LIVENESS_MS } from "@herald/redis";
import { describe, expect, it } from "vitest";
import { liveOnly, parseBusBacklog } from "./bus-backlog.js";

const line = (name: string, omem: number) =>
  `id=5 addr=127.0.0.1:50414 laddr=127.0.0.1:6379 fd=9 name=${name} age=3 idle=0 flags=P db=0 sub=2 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=${omem} tot-mem=1800 events=r cmd=subscribe user=default redir=-1 resp=2`;

describe("parseBusBacklog", () => {
  it("reads each node's subscriber buffers for one prefix only", () => {
    const keys = new Keys("herald");
    const list = [
      line(`herald:${keys.subscriberName("edge:1", "bulk")}`, 5_000_000),
      line(`herald:${keys.subscriberName("edge-2", "urgent")}`, 0),
      line(`herald:${new Keys("herald2").subscriberName("edge-3", "bulk")}`, 9),
      line(`herald:${new Keys("her").subscriberName("edge-4", "bulk")}`, 9),
      line("herald:commands", 7),
      line("", 7),
    ].join("\n");
    expect(parseBusBacklog([list], keys)).toEqual([
      { nodeId: "edge:1", lane: "bulk", bytes: 5_000_000 },
      { nodeId: "edge-2", lane: "urgent", bytes: 0 },
    ]);
  });

  it("escapes the prefix: a dot is not a wildcard", () => {
    const list = line(`herald:${new Keys("aXb").subscriberName("n", "bulk")}`, 1);
    expect(parseBusBacklog([list], new Keys("a.b"))).toEqual([]);
  });

  it("reads a cluster's sharded subscribers (named by ioredis after Herald's name) and sums a lane over masters", () => {
    const keys = new Keys("herald", "cluster");
    const sharded = (node: string, lane: "urgent" | "bulk", omem: number) =>
      line(`ioredis-cluster(ssubscriber):herald:${keys.subscriberName(node, lane)}`, omem);
    const masters = [
      [sharded("edge-1", "bulk", 300), sharded("edge-1", "urgent", 1), sharded("edge-2", "bulk", 0)].join("\n"),
      [
        sharded("edge-1", "bulk", 200),
        line(`ioredis-cluster(subscriber):herald:${keys.subscriberName("x", "bulk")}`, 9),
      ].join("\n"),
      sharded("edge-1", "bulk", 500),
    ];
    expect(parseBusBacklog(masters, keys)).toEqual([
      { nodeId: "edge-1", lane: "bulk", bytes: 1000 },
      { nodeId: "edge-1", lane: "urgent", bytes: 1 },
      { nodeId: "edge-2", lane: "bulk", bytes: 0 },
    ]);
  });
});

describe("liveOnly", () => {
  it("ignores subscribers of nodes that stopped heartbeating (a partitioned edge must not stall every worker)", () => {
    const now = 1_000_000;
    const backlog = [
      { nodeId: "fresh", lane: "bulk" as const, bytes: 9e6 },
      { nodeId: "silent", lane: "bulk" as const, bytes: 9e6 },
      { nodeId: "unknown", lane: "bulk" as const, bytes: 9e6 },
    ];
    const nodes = ["fresh", String(now - 1000), "silent", String(now - NODE_LIVENESS_MS - 1)];
    expect(liveOnly(backlog, nodes, now).map((b) => b.nodeId)).toEqual(["fresh"]);
  });
});
