import type { Registry } from "@herald/observability";
import type { TemplatedApp } from "../native-uws.js";
import { Reply, STATUS } from "./respond.js";

/** `/healthz`, `/readyz`, `/metrics` on the edge's own port. */
export function mountOpsRoutes(app: TemplatedApp, registry: Registry, ready: () => boolean): void {
  app.get("/healthz", (res) => {
    new Reply(res).send(STATUS.ok, "ok\n", { "content-type": "text/plain" });
  });
  app.get("/readyz", (res) => {
    const ok = ready();
    new Reply(res).send(ok ? STATUS.ok : STATUS.unavailable, ok ? "ready\n" : "not ready\n", {
      "content-type": "text/plain",
    });
  });
  app.get("/metrics", (res) => {
    const reply = new Reply(res);
    registry.metrics().then(
      (text) => reply.send(STATUS.ok, text, { "content-type": registry.contentType }),
      (err: Error) => reply.send(STATUS.internal, err.message),
    );
  });
}
