import { SignJWT } from "jose";

export function signToken(
  secret: string,
  sub: string,
  claims: Record<string, unknown> = {},
  expiresIn = "1h",
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}
