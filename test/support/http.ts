// HTTP helpers for e2e tests: talk to the shared local runtime exactly as a frontend would.
import { randomBytes } from "node:crypto";
import { inject } from "vitest";

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or undefined when the body is empty or not JSON; `any` so tests can reach into it freely. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

const baseUrl = () => inject("local").baseUrl;

/** A tenant id no other test uses. */
export function uniqueTenant(prefix = "t"): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
}

export interface TokenClaims {
  tenant: string;
  /** Default: a fresh user id. */
  sub?: string;
  /** Default: ["admin"]. */
  roles?: string[];
  dept?: string;
  /** Default 3600; zero or negative gives an expired token. */
  ttlSeconds?: number;
}

/** A bearer token signed by the local issuer (POST /_local/token). */
export async function mintToken(claims: TokenClaims): Promise<string> {
  const res = await fetch(`${baseUrl()}/_local/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      tenant: claims.tenant,
      sub: claims.sub ?? `u-${randomBytes(4).toString("hex")}`,
      roles: claims.roles ?? ["admin"],
      ...(claims.dept !== undefined ? { dept: claims.dept } : {}),
      ...(claims.ttlSeconds !== undefined ? { ttlSeconds: claims.ttlSeconds } : {}),
    }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST /_local/token answered ${res.status}: ${text}`);
  return (JSON.parse(text) as { token: string }).token;
}

function request(
  token: string | undefined,
  method: string,
  path: string,
  body: string | undefined,
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  const h: Record<string, string> = {};
  if (token) h.authorization = `Bearer ${token}`;
  if (body !== undefined) h["content-type"] = "application/json";
  return rawRequest(method, path, body, { ...h, ...headers });
}

const encode = (body: unknown) => (body === undefined ? undefined : JSON.stringify(body));

/** A client for the API; with a token every request carries `Authorization: Bearer <token>`. */
export function api(token?: string) {
  return {
    get: (path: string, headers?: Record<string, string>) => request(token, "GET", path, undefined, headers),
    post: (path: string, body?: unknown, headers?: Record<string, string>) =>
      request(token, "POST", path, encode(body), headers),
    patch: (path: string, body?: unknown, headers?: Record<string, string>) =>
      request(token, "PATCH", path, encode(body), headers),
    put: (path: string, body?: unknown, headers?: Record<string, string>) =>
      request(token, "PUT", path, encode(body), headers),
    delete: (path: string, headers?: Record<string, string>) => request(token, "DELETE", path, undefined, headers),
    /** Any method with a raw body and headers (no content-type added). */
    raw: (method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) => {
      const h: Record<string, string> = {};
      if (token) h.authorization = `Bearer ${token}`;
      Object.assign(h, init.headers ?? {});
      return rawRequest(method, path, init.body, h);
    },
  };
}

async function rawRequest(
  method: string,
  path: string,
  body: string | undefined,
  headers: Record<string, string>,
): Promise<ApiResponse> {
  const res = await fetch(`${baseUrl()}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}
