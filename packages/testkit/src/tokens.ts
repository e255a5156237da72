import { createSigner } from "fast-jwt";

/** A client token (HS256) for `sub`, with extra claims; `expiresIn` as fast-jwt reads it ("1h", "-1s", ms). */
export async function signToken(
  secret: string,
  sub: string,
  claims: Record<string, unknown> = {},
  expiresIn: string | number = "1h",
): Promise<string> {
  return createSigner({ key: secret, algorithm: "HS256", expiresIn })({ ...claims, sub });
}
