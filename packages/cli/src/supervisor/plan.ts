import type { Config } from "../config/load-config.js";

/** How many processes of each role a command runs. */
export interface ProcessPlan {
  edges: number;
  workers: number;
}

/**
 * The processes `herald all`, `herald edge` and `herald worker` run on a machine with
 * `cores` cores: `herald all` one edge and one worker process per two cores (at least one of
 * each, so the edge and the worker each get a core),
 * a role alone one process (Kubernetes scales by pods), unless set.
 */
export function processPlan(
  config: Pick<Config, "role" | "edgeProcesses" | "workerProcesses">,
  cores: number,
): ProcessPlan {
  const auto = config.role === "all" ? Math.max(1, Math.floor(cores / 2)) : 1;
  const count = (n: number | "auto") => (n === "auto" ? auto : n);
  return {
    edges: config.role === "worker" ? 0 : count(config.edgeProcesses),
    workers: config.role === "edge" ? 0 : count(config.workerProcesses),
  };
}

/** Whether the plan needs a supervisor: `herald all` always (its edge and worker are processes of their own), a role alone past one process. */
export function supervised(plan: ProcessPlan): boolean {
  return plan.edges + plan.workers > 1;
}
