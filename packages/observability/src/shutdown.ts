import type { Logger } from "pino";

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits. A second signal, or `stop`
 * outliving `graceMs`, exits at once: a hung shutdown must never hang the pod.
 * `stopping()` says whether a shutdown began: start-up steps that fail because it closed
 * what they were waiting for are not errors.
 */
export function onShutdown(
  log: Logger,
  graceMs: number,
  stop: (signal: string) => Promise<void>,
): { stopping(): boolean } {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, "shutting down");
    const timer = setTimeout(() => {
      log.error({ graceMs }, "shutdown took too long: exiting");
      process.exit(1);
    }, graceMs);
    timer.unref();
    stop(signal).then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
  return { stopping: () => stopping };
}
