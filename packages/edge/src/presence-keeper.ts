import type { Logger } from "@herald/observability";
import type { InterestSnapshot, Presence } from "@herald/routing";
import type { EdgeMetrics } from "./edge-metrics.js";

const HEARTBEAT_MS = 5000;

/** Why this node's interests were restored: the label of `herald_presence_restores_total`. */
export type RestoreReason = "rejoined" | "canary";

/**
 * Keeps this node present in Redis: heartbeats every few seconds (reaping the nodes that
 * stopped), and puts this node's users and topics back whenever they are gone: the beat
 * finds the node missing from the live set (Redis restarted empty, failed over to a replica
 * that had not seen it, or other nodes reaped it while it could not beat), or the canary
 * came back unrouted. Until a restore has landed the node is not ready.
 */
export class PresenceKeeper {
  private timer: NodeJS.Timeout | undefined;
  private restoring: Promise<void> | undefined;
  /** A restore is owed (the beat found the node missing) until one succeeds. */
  private owed: RestoreReason | undefined;

  constructor(
    private readonly presence: Presence,
    /** This node's own view of what it holds, taken at the moment of the restore. */
    private readonly snapshot: () => InterestSnapshot,
    private readonly metrics: EdgeMetrics,
    private readonly log: Logger,
  ) {}

  /** Beats every few seconds from now on (the node has joined once already). */
  start(): void {
    this.timer ??= setInterval(() => this.beat(), HEARTBEAT_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** False while a restore is in flight: messages routed meanwhile may miss this node. */
  get healthy(): boolean {
    return this.restoring === undefined;
  }

  /** Puts this node's interests back; one restore at a time (a second ask joins the first). */
  restore(reason: RestoreReason): Promise<void> {
    this.restoring ??= (async () => {
      const snapshot = this.snapshot();
      try {
        await this.presence.restore(snapshot);
        this.metrics.presenceRestores.inc({ reason });
        this.log.warn({ reason, users: snapshot.users.size }, "this node's presence was gone from Redis: restored");
      } catch (err) {
        this.log.error({ err, reason }, "restoring this node's presence failed; retrying at the next heartbeat");
        throw err;
      } finally {
        this.restoring = undefined;
      }
    })();
    return this.restoring;
  }

  /** Asks for a restore now, and at every beat until one succeeds. */
  owe(reason: RestoreReason): void {
    this.owed ??= reason;
    this.settleDebt();
  }

  private beat(): void {
    this.presence.heartbeat().then(
      (beat) => {
        if (beat.dead.length) this.log.info({ reaped: beat.dead }, "reaped dead nodes");
        if (beat.joined) this.owed ??= "rejoined";
        this.settleDebt();
      },
      (err: unknown) => this.log.warn({ err }, "heartbeat failed"),
    );
  }

  private settleDebt(): void {
    const reason = this.owed;
    if (!reason) return;
    this.restore(reason).then(
      () => {
        if (this.owed === reason) this.owed = undefined;
      },
      () => this.metrics.presenceRestores.inc({ reason: "failed" }), // logged by restore; the next beat tries again
    );
  }
}
