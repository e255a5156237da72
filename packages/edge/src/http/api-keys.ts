import { createHash, timingSafeEqual } from "node:crypto";

/** Producer keys (HERALD_API_KEYS), compared in constant time. */
export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  /** True when `authorization` is `Bearer <a configured key>`. */
  allows(authorization: string): boolean {
    const m = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (!m?.[1]) return false;
    const d = digest(m[1]);
    let ok = false;
    for (const k of this.digests) ok = timingSafeEqual(k, d) || ok;
    return ok;
  }
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}
