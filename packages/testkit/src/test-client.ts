import WebSocket from "ws";
import { waitFor } from "./wait-for.js";

export interface Frame {
  type: string;
  [key: string]: unknown;
}

/** A real WebSocket client that records every frame, for tests. */
export class TestClient {
  readonly frames: Frame[] = [];
  closeCode: number | undefined;
  closeReason = "";
  /** The last protocol error the client library reported (it closes the socket after one). */
  lastError: string | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => this.frames.push(JSON.parse(String(data)) as Frame));
    ws.on("error", (err) => {
      this.lastError = err.message;
    });
    ws.on("close", (code, reason) => {
      this.closeCode = code;
      this.closeReason = String(reason);
    });
  }

  /** Connects and waits for `welcome`. Rejects with the HTTP status if the upgrade is refused. */
  static async connect(port: number, token: string, query = ""): Promise<TestClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws?token=${encodeURIComponent(token)}${query}`);
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once("error", reject);
      ws.once("open", () => resolve());
    });
    await waitFor(() => {
      if (client.frames.some((f) => f.type === "welcome")) return true;
      if (client.closeCode !== undefined) {
        const why = client.lastError ? ` (client error: ${client.lastError})` : "";
        throw new Error(`closed ${client.closeCode} ${client.closeReason} before welcome${why}`);
      }
      return undefined;
    }, "welcome");
    return client;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** The first recorded frame matching `match` (waits for it). */
  next(match: (f: Frame) => boolean, what: string, timeoutMs = 10_000): Promise<Frame> {
    return waitFor(() => this.frames.find(match), `frame: ${what}`, timeoutMs);
  }

  messages(): Frame[] {
    return this.frames.filter((f) => f.type === "message");
  }

  /** Waits for the server to close the connection; resolves with the close code. */
  closed(timeoutMs = 10_000): Promise<number> {
    return waitFor(() => this.closeCode, "close", timeoutMs);
  }

  close(): void {
    this.ws.close();
  }
}
