import type { History, ResumeRequest, ResumeResult } from "@herald/routing";
import type { Keys } from "./keys.js";
import { ScriptCalls } from "./script-calls.js";
import type { ScriptedRedis } from "./scripts.js";

/** `History` over the streams and hashes deliver-n.lua writes (resume-2.lua reads them). */
export class RedisHistory implements History {
  private readonly scripts: ScriptCalls;

  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
  ) {
    this.scripts = new ScriptCalls(redis, keys);
  }

  resume(channel: string, request: ResumeRequest): Promise<ResumeResult> {
    return this.scripts.resume(channel, request);
  }

  async ack(userId: string, id: string): Promise<void> {
    await this.redis.hdel(this.keys.unacked(userId), id);
  }
}
