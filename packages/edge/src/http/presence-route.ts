import type { Presence } from "@herald/routing";
import type { HttpRequest, HttpResponse } from "../native-uws.js";
import type { ApiKeys } from "./api-keys.js";
import { Reply, STATUS } from "./respond.js";

/** `GET /v1/presence/:user`: where a user is connected, cluster-wide. */
export function presenceRoute(presence: Presence, apiKeys: ApiKeys) {
  return (res: HttpResponse, req: HttpRequest): void => {
    const reply = new Reply(res);
    if (!apiKeys.allows(req.getHeader("authorization"))) {
      reply.json(STATUS.unauthorized, { error: "unauthorized", message: "missing or unknown producer key" });
      return;
    }
    const user = decodeURIComponent(req.getParameter(0) ?? "");
    presence.lookup(user).then(
      (p) => reply.json(STATUS.ok, p),
      () => reply.json(STATUS.unavailable, { error: "unavailable", message: "presence store unreachable" }),
    );
  };
}
