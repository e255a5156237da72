import type { HttpResponse } from "../native-uws.js";

/** Thrown for a request that cannot be understood (a malformed path or header): answered 400, not 500. */
export class BadRequest extends Error {
  override readonly name = "BadRequest";
}

/** An HTTP response that may be answered after an await: tracks abort, corks the write. */
export class Reply {
  aborted = false;
  private done = false;

  constructor(private readonly res: HttpResponse) {
    res.onAborted(() => {
      this.aborted = true;
    });
  }

  get open(): boolean {
    return !this.aborted && !this.done;
  }

  /** Answers a failure that happened after the handler returned: 400 for a `BadRequest`, else 500. */
  fail(err: unknown): void {
    if (err instanceof BadRequest) this.json(STATUS.badRequest, { error: "bad_request", message: err.message });
    else this.json(STATUS.internal, { error: "internal", message: "internal error" });
  }

  json(status: string, body: unknown, headers: Record<string, string> = {}, closeConnection = false): void {
    this.send(status, JSON.stringify(body), { "content-type": "application/json", ...headers }, closeConnection);
  }

  send(status: string, body: string, headers: Record<string, string> = {}, closeConnection = false): void {
    if (!this.open) return;
    this.done = true;
    this.res.cork(() => {
      this.res.writeStatus(status);
      for (const [k, v] of Object.entries(headers)) this.res.writeHeader(k, v);
      this.res.end(body, closeConnection);
    });
  }
}

export const STATUS = {
  ok: "200 OK",
  accepted: "202 Accepted",
  badRequest: "400 Bad Request",
  unauthorized: "401 Unauthorized",
  notFound: "404 Not Found",
  tooLarge: "413 Payload Too Large",
  tooMany: "429 Too Many Requests",
  unavailable: "503 Service Unavailable",
  internal: "500 Internal Server Error",
} as const;
