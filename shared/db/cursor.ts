// Opaque, signed pagination cursors: a client can neither forge a key nor reuse a cursor for another tenant or query.
import { createHmac, timingSafeEqual } from "node:crypto";
import { env } from "../config/env.ts";
import { BadRequestError } from "../http/errors.ts";

function sign(payload: string): string {
  return createHmac("sha256", env.CURSOR_SECRET).update(payload).digest("base64url").slice(0, 22);
}

/** Encodes a cursor bound to the tenant and the query (`scope`) it continues. */
export function encodeCursor(tenant: string, scope: string, state: unknown): string {
  const payload = Buffer.from(JSON.stringify({ t: tenant, q: scope, s: state }), "utf8").toString("base64url");
  return `${payload}.${sign(payload)}`;
}

/** Decodes a cursor, or throws 400 when it was tampered with, is malformed, or belongs to another tenant or query. */
export function decodeCursor<T>(tenant: string, scope: string, cursor: string | undefined): T | undefined {
  if (cursor === undefined || cursor === "") return undefined;
  const bad = () => new BadRequestError("cursor is not valid for this request");
  if (cursor.length > 4096) throw bad();
  const [payload, mac] = cursor.split(".");
  if (!payload || !mac) throw bad();
  const expected = Buffer.from(sign(payload));
  const given = Buffer.from(mac);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw bad();
  try {
    const decoded = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { t: string; q: string; s: T };
    if (decoded.t !== tenant || decoded.q !== scope) throw bad();
    return decoded.s;
  } catch {
    throw bad();
  }
}
