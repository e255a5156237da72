import type { HttpResponse } from "../native-uws.js";
import type { Reply } from "./respond.js";

/**
 * Reads a request body up to `limit` bytes. Resolves undefined when the body is too
 * large (the caller answers 413) or the request was aborted.
 * Must be called synchronously in the route handler, before any await.
 */
export function readBody(
  res: HttpResponse,
  reply: Reply,
  limit: number,
  declaredLength: number,
): Promise<Buffer | undefined> {
  if (declaredLength > limit) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    res.onData((chunk, isLast) => {
      if (over || reply.aborted) return;
      size += chunk.byteLength;
      if (size > limit) {
        over = true;
        resolve(undefined);
        return;
      }
      // uWS reuses the chunk's memory after this callback returns: copy it.
      chunks.push(Buffer.from(chunk.slice(0)));
      if (isLast) resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
  });
}
