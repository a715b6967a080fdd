// The local API Gateway: serves every manifest route by building the HTTP API event and calling the same handler
// module Lambda runs, with the JWT authorizer's checks in front of `auth` routes, plus the /_local/* routes.
import { randomUUID } from "node:crypto";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import * as z from "zod";
import type { TokenIssuer } from "../auth/issuer.ts";
import { LambdaTimeoutError, lambdaContext, localFunctionName, withTimeout } from "../lambda/context.ts";
import type { HandlerCache } from "../lambda/modules.ts";
import { type LocalLog, errorMessage } from "../util/log.ts";
import { type IncomingRequest, apiGatewayClaims, buildHttpEvent, mapLambdaResult } from "./event.ts";
import { type CompiledRoute, matchRoute } from "./routes.ts";
import type { RouteThrottle } from "./throttle.ts";

/** API Gateway's payload limit. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
/** API Gateway's integration timeout for HTTP APIs. */
export const INTEGRATION_TIMEOUT_MS = 30_000;

export interface HttpServerOptions {
  host: string;
  port: number;
  routes: CompiledRoute[];
  handlers: HandlerCache;
  issuer: TokenIssuer;
  /** Body of GET /_local/info. */
  info: () => unknown;
  /** Fires a schedule now; resolves undefined for an unknown name. */
  runSchedule: (name: string) => Promise<{ fired: string; messageId: string } | undefined>;
  log: LocalLog;
  /** One plain line per request. */
  accessLog?: boolean;
  integrationTimeoutMs?: number;
  /** API Gateway's per-route throttling (a token bucket per route); none when absent. */
  throttle?: Pick<RouteThrottle, "allow">;
}

export interface RunningHttpServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

const TokenRequest = z
  .object({
    tenant: z.string().min(1),
    sub: z.string().min(1),
    roles: z.array(z.string().min(1)).default([]),
    dept: z.string().min(1).optional(),
    /** Seconds until expiry; zero or negative mints an expired token (for tests). */
    ttlSeconds: z
      .number()
      .int()
      .min(-365 * 86400)
      .max(30 * 86400)
      .optional(),
  })
  .strict();

interface Reply {
  status: number;
  headers?: Record<string, string>;
  cookies?: string[];
  body?: Buffer | string;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

const gatewayMessage = (status: number, message: string, headers?: Record<string, string>) =>
  json(status, { message }, headers);

const badRequest = (detail: string, errors?: Array<{ path: string; message: string }>): Reply => ({
  status: 400,
  headers: { "content-type": "application/problem+json" },
  body: JSON.stringify({
    type: "about:blank",
    title: "Bad request",
    status: 400,
    detail,
    ...(errors ? { errors } : {}),
  }),
});

class TooLarge extends Error {}

/** Reads the body; past the limit it rejects at once and drains the rest, so the client still reads the 413. */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    const chunks: Buffer[] = [];
    let size = 0;
    let over = declared > MAX_REQUEST_BYTES;
    if (over) reject(new TooLarge());
    req.on("data", (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        over = true;
        chunks.length = 0;
        reject(new TooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  if (m) return m[1];
  const bare = header.trim();
  return bare && !/\s/.test(bare) ? bare : undefined;
}

function corsHeaders(req: IncomingMessage): Record<string, string> {
  const origin = req.headers.origin;
  if (!origin) return {};
  return { "access-control-allow-origin": origin, "access-control-expose-headers": "*", vary: "origin" };
}

export async function startHttpServer(opts: HttpServerOptions): Promise<RunningHttpServer> {
  const timeoutMs = opts.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_MS;
  let port = 0;

  const local = async (req: IncomingMessage, path: string, body: () => Promise<Buffer>): Promise<Reply> => {
    const method = req.method ?? "GET";
    if (method === "POST" && path === "/_local/token") {
      let input: unknown;
      try {
        const text = (await body()).toString("utf8");
        input = text.trim() ? JSON.parse(text) : {};
      } catch (err) {
        if (err instanceof TooLarge) throw err;
        return badRequest("request body is not valid JSON");
      }
      const parsed = TokenRequest.safeParse(input);
      if (!parsed.success) {
        return badRequest(
          "token request is invalid: tenant and sub are required strings, roles a list of strings",
          parsed.error.issues.map((i) => ({ path: i.path.join(".") || "(root)", message: i.message })),
        );
      }
      return json(200, await opts.issuer.mint(parsed.data));
    }
    if (method === "GET" && path === "/_local/info") return json(200, opts.info());
    if (method === "GET" && path === "/_local/jwks.json") return json(200, await opts.issuer.jwks());
    const run = /^\/_local\/schedules\/([^/]+)\/run$/.exec(path);
    if (method === "POST" && run) {
      const name = decodeURIComponent(run[1]!);
      const fired = await opts.runSchedule(name);
      return fired ? json(200, fired) : gatewayMessage(404, "Not Found");
    }
    return gatewayMessage(404, "Not Found");
  };

  const route = async (req: IncomingMessage, requestId: string): Promise<Reply> => {
    const url = req.url ?? "/";
    const method = (req.method ?? "GET").toUpperCase();
    const rawPath = url.split("?")[0]!;
    let bodyCache: Promise<Buffer> | undefined;
    const body = () => (bodyCache ??= readBody(req));

    if (rawPath === "/_local" || rawPath.startsWith("/_local/")) return local(req, rawPath, body);

    const match = matchRoute(opts.routes, method, rawPath);
    if (!match) return gatewayMessage(404, "Not Found");
    // As in API Gateway, throttling comes before the authorizer and the body: a throttled request costs nothing more.
    if (opts.throttle && !opts.throttle.allow(match.route.routeKey)) return gatewayMessage(429, "Too Many Requests");

    const buffer = await body();
    let claims: Record<string, string> | undefined;
    let scopes: string[] | null = null;
    if (match.route.auth) {
      const header = req.headersDistinct.authorization?.[0];
      const token = bearerToken(header);
      if (!token) return gatewayMessage(401, "Unauthorized", { "www-authenticate": "Bearer" });
      try {
        const payload = await opts.issuer.verify(token);
        claims = apiGatewayClaims(payload);
        scopes = typeof payload.scope === "string" ? payload.scope.split(" ").filter(Boolean) : null;
      } catch (err) {
        const description = errorMessage(err).replaceAll('"', "'");
        return gatewayMessage(401, "Unauthorized", {
          "www-authenticate": `Bearer error="invalid_token", error_description="${description}"`,
        });
      }
    }

    const incoming: IncomingRequest = {
      method,
      url,
      headers: Object.fromEntries(Object.entries(req.headersDistinct).map(([k, v]) => [k, v ?? []])),
      body: buffer,
      sourceIp: (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, ""),
      protocol: `HTTP/${req.httpVersion}`,
      port,
    };
    const event = buildHttpEvent(incoming, match, { claims, scopes, requestId });
    const { route: r } = match;
    const functionName = localFunctionName("http", r.functionName);

    let handler;
    try {
      handler = await opts.handlers.get(r.entry);
    } catch (err) {
      opts.log.error(`${r.routeKey}: cannot load ${r.entry}: ${errorMessage(err)}`);
      return gatewayMessage(500, "Internal Server Error");
    }
    let result: unknown;
    try {
      const context = lambdaContext({ functionName, timeoutMs });
      result = await withTimeout(Promise.resolve(handler(event as never, context as never)), timeoutMs);
    } catch (err) {
      if (err instanceof LambdaTimeoutError) {
        opts.log.error(`${r.routeKey}: ${err.message}`);
        return gatewayMessage(503, "Service Unavailable");
      }
      opts.log.error(
        `${r.routeKey}: handler threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      );
      return gatewayMessage(500, "Internal Server Error");
    }
    try {
      const mapped = mapLambdaResult(result);
      return { status: mapped.statusCode, headers: mapped.headers, cookies: mapped.cookies, body: mapped.body };
    } catch (err) {
      opts.log.error(`${r.routeKey}: malformed Lambda response: ${errorMessage(err)}`);
      return gatewayMessage(500, "Internal Server Error");
    }
  };

  const write = (req: IncomingMessage, res: ServerResponse, requestId: string, reply: Reply) => {
    const body =
      reply.body === undefined
        ? Buffer.alloc(0)
        : Buffer.isBuffer(reply.body)
          ? reply.body
          : Buffer.from(reply.body, "utf8");
    const headers: Record<string, string | string[]> = {
      ...corsHeaders(req),
      ...(reply.headers ?? {}),
      "apigw-requestid": requestId,
    };
    if (reply.cookies?.length) headers["set-cookie"] = reply.cookies;
    headers["content-length"] = String(body.length);
    res.writeHead(reply.status, headers);
    res.end(body);
  };

  const server = createServer((req, res) => {
    const started = Date.now();
    const requestId = randomUUID();
    const done = (reply: Reply) => {
      if (res.headersSent) return;
      write(req, res, requestId, reply);
      if (opts.accessLog) opts.log.info(`${req.method} ${req.url} -> ${reply.status} (${Date.now() - started} ms)`);
    };
    if (req.method === "OPTIONS" && req.headers.origin && req.headers["access-control-request-method"]) {
      done({
        status: 204,
        headers: {
          "access-control-allow-methods": "GET,POST,PUT,PATCH,DELETE,OPTIONS",
          "access-control-allow-headers": String(req.headers["access-control-request-headers"] ?? "*"),
          "access-control-max-age": "600",
        },
      });
      return;
    }
    route(req, requestId).then(done, (err: unknown) => {
      if (err instanceof TooLarge) {
        done(gatewayMessage(413, "Request Entity Too Large", { connection: "close" }));
        return;
      }
      opts.log.error(`${req.method} ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      done(gatewayMessage(500, "Internal Server Error"));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address();
  port = typeof addr === "object" && addr ? addr.port : opts.port;
  return {
    server,
    port,
    url: `http://${opts.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
