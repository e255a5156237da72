import type { Guard } from "../guard.js";
import type { HttpRequest, HttpResponse, TemplatedApp } from "../native-uws.js";
import type { ApiKeys } from "./api-keys.js";
import { readPage, servePage } from "./pages.js";
import { readBody } from "./read-body.js";
import { Reply, STATUS } from "./respond.js";

/** What the operator dashboard shows and does, gathered from every process's metrics and from Redis. */
export interface DashboardSource {
  /** Every live process's latest metrics, the queues and the dead letters, as JSON for the page. */
  snapshot(): Promise<unknown>;
  /** Re-drives dead letters (all when `entryIds` is undefined); resolves with how many. */
  redrive(entryIds: readonly string[] | undefined): Promise<number>;
}

const UNAUTHORIZED = { error: "unauthorized", message: "missing or unknown producer key" };

/**
 * `GET /dashboard` (the page: it holds no data, and asks for a producer key), `GET
 * /v1/dashboard` and `POST /v1/dashboard/redrive` (both with a producer key).
 */
export function mountDashboard(
  app: TemplatedApp,
  deps: { apiKeys: ApiKeys; source: DashboardSource; guard: Guard },
): void {
  const { apiKeys, source, guard } = deps;
  // The page holds no data: it reads /v1/dashboard every second, with the key the operator types.
  servePage(app, guard, "/dashboard", readPage("dashboard.html"), {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy":
      "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:",
  });
  app.get(
    "/v1/dashboard",
    guard.route("dashboard", (res: HttpResponse, req: HttpRequest) => {
      const reply = new Reply(res);
      if (!apiKeys.allows(req.getHeader("authorization"))) {
        reply.json(STATUS.unauthorized, UNAUTHORIZED);
        return;
      }
      source.snapshot().then(
        (body) => reply.json(STATUS.ok, body),
        (err: unknown) => {
          guard.failed("dashboard", err);
          reply.json(STATUS.unavailable, { error: "unavailable", message: "Redis unreachable" });
        },
      );
    }),
  );
  app.post("/v1/dashboard/redrive", guard.route("dashboard", redriveRoute(apiKeys, source, guard)));
}

/** `POST /v1/dashboard/redrive` with `{"entryIds":[…]}` or `{"all":true}`. */
function redriveRoute(apiKeys: ApiKeys, source: DashboardSource, guard: Guard) {
  return (res: HttpResponse, req: HttpRequest): void => {
    const reply = new Reply(res);
    if (!apiKeys.allows(req.getHeader("authorization"))) {
      reply.json(STATUS.unauthorized, UNAUTHORIZED);
      return;
    }
    readBody(res, reply, 64 * 1024, Number(req.getHeader("content-length") || 0))
      .then((body) => {
        const ids = entryIdsOf(body);
        if (ids === null) {
          reply.json(STATUS.badRequest, { error: "bad_request", message: 'send {"entryIds":[…]} or {"all":true}' });
          return;
        }
        return source.redrive(ids).then((n) => reply.json(STATUS.ok, { redriven: n }));
      })
      .catch((err: unknown) => {
        guard.failed("dashboard", err);
        reply.fail(err);
      });
  };
}

/** The entry ids asked for, undefined for all, null when the body is neither. */
function entryIdsOf(body: Buffer | undefined): readonly string[] | undefined | null {
  let json: unknown;
  try {
    json = JSON.parse(body?.toString("utf8") ?? "");
  } catch {
    return null;
  }
  const o = json as { entryIds?: unknown; all?: unknown } | null;
  if (o?.all === true) return undefined;
  const ids = o?.entryIds;
  return Array.isArray(ids) && ids.length > 0 && ids.length <= 1000 && ids.every((i) => typeof i === "string")
    ? (ids as string[])
    : null;
}
