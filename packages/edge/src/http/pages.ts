import { readFileSync } from "node:fs";
import type { Guard } from "../guard.js";
import type { TemplatedApp } from "../native-uws.js";
import { Reply, STATUS } from "./respond.js";

/** A page of the edge's own (pages/ sits beside src/ and dist/: the same relative path works from either). */
export function readPage(name: string): string {
  return readFileSync(new URL(`../../pages/${name}`, import.meta.url), "utf8");
}

/** Serves fixed content at `path`: a page or a script, with its headers. */
export function servePage(
  app: TemplatedApp,
  guard: Guard,
  path: string,
  body: string,
  headers: Record<string, string>,
): void {
  app.get(
    path,
    guard.route("pages", (res) => new Reply(res).send(STATUS.ok, body, headers)),
  );
}

/**
 * The demo (dev mode): a notification center, a workflow's progress and a send form, on
 * Herald's browser client, served at /demo/ with the client at /demo/herald-client.js. It
 * holds no credentials: they come in the URL's fragment, as `npm start` prints it.
 */
export function mountDemo(app: TemplatedApp, guard: Guard, clientScript: string): void {
  const page = readPage("demo.html");
  const csp =
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self' ws: wss:; img-src data:";
  servePage(app, guard, "/demo/", page, { "content-type": "text/html; charset=utf-8", "content-security-policy": csp });
  servePage(app, guard, "/demo/herald-client.js", clientScript, { "content-type": "text/javascript; charset=utf-8" });
  app.get(
    "/demo",
    guard.route("pages", (res) => new Reply(res).send("301 Moved Permanently", "", { location: "/demo/" })),
  );
}
