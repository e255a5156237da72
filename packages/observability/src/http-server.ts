import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * `/healthz`, `/readyz` and `/metrics` on their own port, for processes without an
 * HTTP server of their own (workers). Edges serve the same routes on their uWS port.
 */
interface OpsOptions {
  host: string;
  port: number;
  /** What /metrics serves: a registry, or text gathered by the caller (a supervisor's merge). */
  registry: Registry | { contentType: string; metrics(): Promise<string> };
  ready: () => boolean;
}

export function startOpsServer(opts: OpsOptions): Promise<OpsServer> {
  const server: Server = createServer((req, res) => answer(opts, req, res));
  let closed: Promise<void> | undefined;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () => {
          closed ??= new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
          return closed;
        },
      });
    });
  });
}

function answer(opts: OpsOptions, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? "/").split("?")[0];
  if (req.method !== "GET") {
    res.writeHead(405).end();
  } else if (path === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
  } else if (path === "/readyz") {
    const ok = opts.ready();
    res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "ready\n" : "not ready\n");
  } else if (path === "/metrics") {
    opts.registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": opts.registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(String(err.message)),
    );
  } else {
    res.writeHead(404).end();
  }
}
