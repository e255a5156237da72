import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";

/** The Lua scripts, loaded once; ioredis runs them by EVALSHA and falls back to EVAL. */
const SCRIPTS = {
  heraldReserveIds: "reserve-ids.lua",
  heraldInterests: "interests.lua",
  heraldHeartbeat: "heartbeat-1.lua",
  heraldReapNode: "reap-node-3.lua",
  heraldDeliver: "deliver-n.lua",
} as const;

const sources = new Map<string, string>();
function source(file: string): string {
  let text = sources.get(file);
  if (text === undefined) {
    // lua/ sits beside src/ and dist/, so the same relative path works from either.
    text = readFileSync(new URL(`../lua/${file}`, import.meta.url), "utf8");
    sources.set(file, text);
  }
  return text;
}

type Args = (string | number)[];
/** The script commands, as `defineScripts` adds them to a connection. */
export interface ScriptCommands {
  heraldReserveIds(numKeys: number, ...args: Args): Promise<(number | string)[]>;
  heraldInterests(numKeys: number, ...args: Args): Promise<number[]>;
  heraldHeartbeat(k1: string, ...args: Args): Promise<string[]>;
  heraldReapNode(k1: string, k2: string, k3: string, ...args: Args): Promise<number>;
  heraldDeliver(numKeys: number, ...args: Args): Promise<number>;
}
export type ScriptedRedis = Redis & ScriptCommands;

/** Adds Herald's scripts to a connection (idempotent). */
export function defineScripts(redis: Redis): ScriptedRedis {
  const r = redis as ScriptedRedis;
  if (typeof r.heraldDeliver === "function") return r;
  for (const [name, file] of Object.entries(SCRIPTS)) {
    const fixed = /-(\d+)\.lua$/.exec(file);
    redis.defineCommand(name, fixed ? { numberOfKeys: Number(fixed[1]), lua: source(file) } : { lua: source(file) });
  }
  return r;
}
