import type { Registry } from "@herald/observability";
import type { Guard } from "../guard.js";
import type { TemplatedApp } from "../native-uws.js";
import { Reply, STATUS } from "./respond.js";

/** `/healthz`, `/readyz` and, unless served elsewhere (`registry` undefined), `/metrics` on the edge's own port. */
export function mountOpsRoutes(
  app: TemplatedApp,
  registry: Registry | undefined,
  ready: () => boolean,
  guard: Guard,
): void {
  app.get(
    "/healthz",
    guard.route("ops", (res) => new Reply(res).send(STATUS.ok, "ok\n", { "content-type": "text/plain" })),
  );
  app.get(
    "/readyz",
    guard.route("ops", (res) => {
      const ok = ready();
      const text = ok ? "ready\n" : "not ready\n";
      new Reply(res).send(ok ? STATUS.ok : STATUS.unavailable, text, { "content-type": "text/plain" });
    }),
  );
  if (!registry) return;
  app.get(
    "/metrics",
    guard.route("ops", (res) => {
      const reply = new Reply(res);
      registry.metrics().then(
        (text) => reply.send(STATUS.ok, text, { "content-type": registry.contentType }),
        (err: Error) => reply.send(STATUS.internal, err.message),
      );
    }),
  );
}
