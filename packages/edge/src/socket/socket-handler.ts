import { Reply } from "../http/respond.js";
import type { HttpRequest, HttpResponse, WebSocket } from "../native-uws.js";
import type { TokenVerifier } from "../token-verifier.js";
import { receiveFrame } from "./client-frames.js";
import type { Conn } from "./client-socket.js";
import { closeConnection, openConnection } from "./lifecycle.js";
import type { SocketContext } from "./socket-context.js";
import { decideUpgrade, upgradeToken } from "./upgrade.js";

export type Ws = WebSocket<Conn>;

export interface SocketHandlerDeps extends SocketContext {
  verifier: TokenVerifier;
  /** Why this node refuses upgrades now (draining, or not yet live), if it does. */
  refusing: () => "draining" | "not_ready" | undefined;
}

/**
 * The `/v1/ws` behaviour for uWebSockets.js: the glue between uWS's callbacks and the
 * socket's parts (upgrade, lifecycle, client frames), which hold the logic and are tested
 * without a network. Bad input never throws out of here: it gets an error frame or a close
 * code, and other connections never notice.
 */
export function socketHandler(deps: SocketHandlerDeps) {
  // Synchronous from start to end: uWS has corked the response for this call, and an upgrade
  // completed inside that cork costs one write for the 101 (docs/decisions/sync-token-verification.md).
  const upgrade = (res: HttpResponse, req: HttpRequest, context: unknown): void => {
    const decision = decideUpgrade(
      {
        token: upgradeToken(req.getQuery("token") ?? "", req.getHeader("authorization")),
        since: req.getQuery("since") ?? "",
        broadcastSince: req.getQuery("broadcastSince") ?? "",
        now: Date.now(),
      },
      { refusing: deps.refusing(), verifier: deps.verifier, pool: deps.pool, frameBurst: deps.options.frameBurst },
    );
    if (!decision.ok) {
      deps.metrics.upgradesRefused.inc({ reason: decision.reason });
      new Reply(res).json(decision.status, { error: decision.reason, message: decision.message }, {}, true);
      return;
    }
    res.upgrade(
      decision.conn,
      req.getHeader("sec-websocket-key"),
      req.getHeader("sec-websocket-protocol"),
      req.getHeader("sec-websocket-extensions"),
      context as never,
    );
  };

  const open = (ws: Ws): void => openConnection(deps, ws.getUserData(), ws);

  const message = (ws: Ws, data: ArrayBuffer, isBinary: boolean): void => {
    const oversize = data.byteLength > deps.options.maxFrameBytes; // closed without being read
    const text = isBinary || oversize ? undefined : Buffer.from(data).toString("utf8");
    receiveFrame(deps, ws.getUserData(), text, data.byteLength, Date.now());
  };

  const close = (ws: Ws, code: number, reason: ArrayBuffer): void => {
    const conn = ws.getUserData();
    if (deps.log.isLevelEnabled("debug")) {
      const text = Buffer.from(reason).toString();
      deps.log.debug(
        { conn: conn.id, code, reason: text, state: conn.state, ms: Date.now() - conn.openedAt },
        "connection closed",
      );
    }
    closeConnection(deps, conn);
  };

  return { upgrade, open, message, close };
}
