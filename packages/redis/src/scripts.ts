import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";

/**
 * The Lua scripts (lua/README.md states the naming rule), loaded once; ioredis runs them by
 * EVALSHA and falls back to EVAL. Their KEYS and ARGV are built in script-calls.ts only.
 */
const SCRIPTS = {
  heraldReserveIds: "reserve-ids-n.lua",
  heraldInterests: "interests-n.lua",
  heraldSetInterests: "set-interests-n.lua",
  heraldHeartbeat: "heartbeat-2.lua",
  heraldReapNode: "reap-node-3.lua",
  heraldDeliver: "deliver-n.lua",
  heraldResume: "resume-2.lua",
  heraldTakeMissed: "take-missed-1.lua",
  // The cluster layout's, each touching one slot per call.
  heraldDeliverSlot: "deliver-slot-n.lua",
  heraldTurn: "turn-2.lua",
  heraldPublishDone: "publish-done-2.lua",
  heraldLiveNodes: "live-nodes-2.lua",
  heraldNodeCounts: "node-counts-n.lua",
  heraldPublishNode: "publish-node-1.lua",
} as const;

const INCLUDE = /^--- @include "([a-z0-9-]+)"$/gm;
const sources = new Map<string, string>();

/** A script's text with its `--- @include` lines replaced by the shared snippets. */
function scriptSource(file: string): string {
  let text = sources.get(file);
  if (text === undefined) {
    // lua/ sits beside src/ and dist/, so the same relative path works from either.
    const read = (path: string) => readFileSync(new URL(`../lua/${path}`, import.meta.url), "utf8");
    text = read(file).replace(INCLUDE, (_, name: string) => read(`includes/${name}.lua`).trimEnd());
    sources.set(file, text);
  }
  return text;
}

type Args = (string | number)[];
/** The script commands, as `defineScripts` adds them to a connection. */
export interface ScriptCommands {
  heraldReserveIds(numKeys: number, ...args: Args): Promise<(number | string)[]>;
  heraldInterests(numKeys: number, ...args: Args): Promise<number[]>;
  heraldSetInterests(numKeys: number, ...args: Args): Promise<number>;
  heraldHeartbeat(k1: string, k2: string, ...args: Args): Promise<(number | string)[]>;
  heraldReapNode(k1: string, k2: string, k3: string, ...args: Args): Promise<number>;
  heraldDeliver(numKeys: number, ...args: Args): Promise<(number | string)[]>;
  heraldResume(k1: string, k2: string, ...args: Args): Promise<(number | string)[]>;
  heraldTakeMissed(k1: string): Promise<string[]>;
  heraldDeliverSlot(numKeys: number, ...args: Args): Promise<(number | string)[]>;
  heraldTurn(k1: string, k2: string, ...args: Args): Promise<string | null>;
  heraldPublishDone(k1: string, k2: string, ...args: Args): Promise<number>;
  heraldLiveNodes(k1: string, k2: string, ...args: Args): Promise<string[]>;
  heraldNodeCounts(numKeys: number, ...args: Args): Promise<number[]>;
  heraldPublishNode(k1: string, ...args: Args): Promise<number>;
}
export type ScriptedRedis = Redis & ScriptCommands;

/** Adds Herald's scripts to a connection (idempotent). */
export function defineScripts(redis: Redis): ScriptedRedis {
  const r = redis as ScriptedRedis;
  if (typeof r.heraldDeliver === "function") return r;
  for (const [name, file] of Object.entries(SCRIPTS)) {
    const fixed = /-(\d+)\.lua$/.exec(file);
    const lua = scriptSource(file);
    redis.defineCommand(name, fixed ? { numberOfKeys: Number(fixed[1]), lua } : { lua });
  }
  return r;
}
