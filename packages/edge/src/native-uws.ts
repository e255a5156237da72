import type * as UWS from "uWebSockets.js";
import { createRequire } from "node:module";

export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, WebSocket } from "uWebSockets.js";

const require = createRequire(import.meta.url);

/**
 * Loads uWebSockets.js and refuses to run on its JavaScript fallback: the republished
 * package silently swaps in a slow shim when its native binary does not load, and a
 * gateway quietly running at a tenth of its speed is worse than one that will not start.
 */
export function loadNativeUws(): typeof UWS {
  const uws = require("uWebSockets.js") as typeof UWS;
  const binary = Object.keys(require.cache).find((path) =>
    /uWebSockets\.js.*\.node$|uws-js-unofficial.*\.node$/.test(path),
  );
  if (!binary) {
    throw new Error(
      `uWebSockets.js native binary did not load for ${process.platform}-${process.arch} Node ABI ${process.versions.modules}` +
        " (the package fell back to its JavaScript shim). Herald needs Node 20 on linux/darwin x64 or arm64.",
    );
  }
  return uws;
}
