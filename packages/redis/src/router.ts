import type { Keys } from "./keys.js";
import { NODE_LIVENESS_MS } from "./presence.js";
import type { ScriptedRedis } from "./scripts.js";

export interface Routes {
  /** user id -> live nodes holding a connection of that user */
  users: Map<string, string[]>;
  /** topic -> live nodes holding a subscriber */
  topics: Map<string, string[]>;
}

/** Resolves users and topics to the nodes that hold them, in one script call per batch. */
export class RedisRouter {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
  ) {}

  async route(users: Iterable<string>, topics: Iterable<string>): Promise<Routes> {
    const u = [...new Set(users)];
    const t = [...new Set(topics)];
    const routes: Routes = { users: new Map(), topics: new Map() };
    if (u.length + t.length === 0) return routes;
    const keys = [this.keys.nodes, ...u.map((x) => this.keys.presence(x)), ...t.map((x) => this.keys.topic(x))];
    const nodes = await this.redis.heraldRoute(keys.length, ...keys, NODE_LIVENESS_MS);
    for (const [i, user] of u.entries()) routes.users.set(user, nodes[i] ?? []);
    for (const [i, topic] of t.entries()) routes.topics.set(topic, nodes[u.length + i] ?? []);
    return routes;
  }
}
