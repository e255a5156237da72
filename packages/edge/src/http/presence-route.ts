import { isValidUserId, MAX_ID_LENGTH } from "@herald/protocol";
import type { Presence } from "@herald/routing";
import type { Guard } from "../guard.js";
import type { HttpRequest, HttpResponse } from "../native-uws.js";
import type { ApiKeys } from "./api-keys.js";
import { BadRequest, Reply, STATUS } from "./respond.js";

/** `GET /v1/presence/:user`: where a user is connected, cluster-wide. */
export function presenceRoute(presence: Presence, apiKeys: ApiKeys, guard: Pick<Guard, "failed">) {
  return (res: HttpResponse, req: HttpRequest): void => {
    const reply = new Reply(res);
    if (!apiKeys.allows(req.getHeader("authorization"))) {
      reply.json(STATUS.unauthorized, { error: "unauthorized", message: "missing or unknown producer key" });
      return;
    }
    const user = userOf(req.getParameter(0) ?? "");
    presence.lookup(user).then(
      (p) => reply.json(STATUS.ok, p),
      (err: unknown) => {
        guard.failed("presence", err);
        reply.json(STATUS.unavailable, { error: "unavailable", message: "presence store unreachable" });
      },
    );
  };
}

/** The user id of the path, percent-decoded; a malformed escape or an invalid id is a bad request. */
function userOf(raw: string): string {
  let user: string;
  try {
    user = decodeURIComponent(raw);
  } catch {
    throw new BadRequest("the user id is not validly percent-encoded");
  }
  if (!isValidUserId(user))
    throw new BadRequest(`the user id must be 1 to ${MAX_ID_LENGTH} characters without control characters`);
  return user;
}
