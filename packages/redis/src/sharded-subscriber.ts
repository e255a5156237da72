import { LANES, type Lane } from "@herald/protocol";
import type { BusHandlers, BusSubscriber } from "@herald/routing";
import type { Redis } from "ioredis";
import { onReconnect } from "./connection.js";
import type { Keys } from "./keys.js";
import { MissedPayloads, resubscribed } from "./missed-payloads.js";
import { ScriptCalls } from "./script-calls.js";
import type { ScriptedRedis } from "./scripts.js";

/** What ioredis keeps of a Cluster's sharded subscribers: one connection per master (not in its types). */
interface ShardedSubscriberGroup {
  shardedSubscribers?: Map<string, { getInstance(): Redis | null }>;
}

/**
 * `BusSubscriber` over sharded pub/sub (the cluster layout): per lane a Cluster connection
 * with `shardedSubscribers`, which keeps one subscriber connection per master and follows
 * failovers and slot moves; it SSUBSCRIBEs this node's channels of the lane (one per range of
 * slots, see `Keys.nodeChannels`: every master serves some) and the lane's broadcast channel,
 * one call each since one SSUBSCRIBE takes channels of one slot. Pausing a lane stops reading
 * its masters' sockets.
 */
export class RedisShardedBusSubscriber implements BusSubscriber {
  private readonly missed: MissedPayloads;

  constructor(
    private readonly keys: Keys,
    private readonly subscribers: Readonly<Record<Lane, Redis>>,
    private readonly nodeId: string,
    commands: ScriptedRedis,
  ) {
    this.missed = new MissedPayloads(new ScriptCalls(commands, keys), (lane) => keys.nodeChannels(nodeId, lane));
  }

  async start(handlers: BusHandlers): Promise<void> {
    await Promise.all(
      LANES.map(async (lane) => {
        const channels = [...this.keys.nodeChannels(this.nodeId, lane), this.keys.broadcastChannel(lane)];
        const mine = new Set(channels);
        const subscriber = this.subscribers[lane];
        const deliver = (payload: string) => handlers.onPayload(lane, payload);
        const confirmed = () => resubscribed(this.connections(lane));
        // A reconnect, or a master's subscriber replaced (a failover, a slot moved): what was
        // published to this node meanwhile was kept, and is taken once subscribed again.
        const catchUp = () => {
          void this.missed.catchUp(lane, confirmed, deliver).then((handed) => handlers.onResubscribed(lane, handed));
        };
        onReconnect(subscriber, catchUp);
        subscriber.on("smessage", (channel: string, payload: string) => {
          if (mine.has(channel) && !this.missed.holds(lane, payload)) deliver(payload);
        });
        await Promise.all(channels.map((c) => subscriber.ssubscribe(c)));
        void this.missed.forget(lane);
        subscriber.on("+subscriber", catchUp);
      }),
    );
  }

  pause(lane: Lane): void {
    for (const r of this.connections(lane)) r.stream?.pause();
  }

  resume(lane: Lane): void {
    for (const r of this.connections(lane)) r.stream?.resume();
  }

  private connections(lane: Lane): Redis[] {
    const group = (this.subscribers[lane] as unknown as { shardedSubscribers?: ShardedSubscriberGroup })
      .shardedSubscribers;
    const out: Redis[] = [];
    for (const s of group?.shardedSubscribers?.values() ?? []) {
      const r = s.getInstance();
      if (r) out.push(r);
    }
    return out;
  }
}
