// The middy stack every HTTP function uses: request context for logs, JSON body parsing, routing by routeKey, one error mapper.
import middy from "@middy/core";
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from "aws-lambda";
import type * as z from "zod";
import { type Caller, callerFromClaims, requireReader } from "../auth/claims.ts";
import { logger } from "../log/logger.ts";
import {
  AppError,
  BadRequestError,
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
  type FieldError,
} from "./errors.ts";
import { type HttpResult, internalError, problem } from "./response.ts";
import { tenantRateLimit } from "./throttle.ts";

/** Largest request body accepted (bytes); API Gateway allows more, but no route needs it. */
export const MAX_BODY_BYTES = 256 * 1024;

export type HttpEvent = APIGatewayProxyEventV2WithJWTAuthorizer;

/** What a route handler gets: the parsed parts of the request and, on authenticated routes, the caller. */
export interface Request {
  event: HttpEvent;
  requestId: string;
  caller: Caller;
  params: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** The parsed JSON body; throws 400/415 when it is not JSON. `undefined` when there is no body. */
  body: () => unknown;
}

export type PublicRequest = Omit<Request, "caller">;
export type RouteHandler = (req: Request) => Promise<HttpResult>;
export type PublicRouteHandler = (req: PublicRequest) => Promise<HttpResult>;

export type Routes = Record<string, RouteHandler | { public: PublicRouteHandler }>;

function lowerHeaders(h: Record<string, string | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) if (v !== undefined) out[k.toLowerCase()] = v;
  return out;
}

function bodyReader(event: HttpEvent, headers: Record<string, string>): () => unknown {
  let cached: { value: unknown } | undefined;
  return () => {
    if (cached) return cached.value;
    const raw = event.body ?? "";
    const text = event.isBase64Encoded ? Buffer.from(raw, "base64").toString("utf8") : raw;
    if (Buffer.byteLength(text, "utf8") > MAX_BODY_BYTES) {
      throw new PayloadTooLargeError(`request body is larger than ${MAX_BODY_BYTES} bytes`);
    }
    if (text.trim() === "") {
      cached = { value: undefined };
      return undefined;
    }
    const type = (headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (type && type !== "application/json" && !type.endsWith("+json")) {
      throw new UnsupportedMediaTypeError(`content-type must be application/json, not ${type}`);
    }
    try {
      cached = { value: JSON.parse(text) as unknown };
    } catch {
      throw new BadRequestError("request body is not valid JSON");
    }
    return cached.value;
  };
}

/** Turns zod issues into the API's field errors (`unrecognized_keys` becomes one error per unknown key). */
export function fieldErrors(error: z.ZodError, prefix = ""): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    const base = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) out.push({ path: base ? `${base}.${key}` : key, message: "unknown field" });
    } else {
      out.push({ path: base || "(root)", message: issue.message });
    }
  }
  return out;
}

/** Parses `data` with `schema` or throws a 400 naming every bad field. */
export function parse<S extends z.ZodType>(schema: S, data: unknown, what = "request body", prefix = ""): z.output<S> {
  const result = schema.safeParse(data);
  if (!result.success) throw new ValidationError(`${what} is invalid`, fieldErrors(result.error, prefix));
  return result.data;
}

/**
 * Builds a Lambda handler serving the given routes, keyed by API Gateway routeKey (`GET /v1/customers/{id}`).
 * Authenticated routes get the caller from the JWT authorizer's claims; public ones are wrapped in `{ public }`.
 */
export function httpApi(routes: Routes) {
  const base = async (event: HttpEvent, context: Context): Promise<HttpResult> => {
    const requestId = event.requestContext?.requestId ?? context.awsRequestId;
    const route = routes[event.routeKey];
    if (!route) throw new NotFoundError(`no route ${event.routeKey}`);
    const headers = lowerHeaders(event.headers);
    const common: PublicRequest = {
      event,
      requestId,
      params: Object.fromEntries(Object.entries(event.pathParameters ?? {}).map(([k, v]) => [k, v ?? ""])),
      query: Object.fromEntries(Object.entries(event.queryStringParameters ?? {}).map(([k, v]) => [k, v ?? ""])),
      headers,
      body: bodyReader(event, headers),
    };
    if (typeof route !== "function") return route.public(common);
    const caller = callerFromClaims(event.requestContext?.authorizer?.jwt?.claims as never);
    logger.appendKeys({ tenant: caller.tenant, userId: caller.userId });
    requireReader(caller);
    return route({ ...common, caller });
  };

  return middy<HttpEvent, HttpResult, Error, Context>()
    .before((request) => {
      logger.resetKeys();
      logger.addContext(request.context);
      logger.appendKeys({ requestId: request.event.requestContext?.requestId, route: request.event.routeKey });
    })
    .use(tenantRateLimit())
    .after((request) => {
      logger.info("request served", { status: request.response?.statusCode });
    })
    .onError((request) => {
      const requestId = request.event.requestContext?.requestId ?? request.context.awsRequestId;
      const err = request.error;
      if (err instanceof AppError) {
        request.response = problem(err, requestId);
        logger.info("request refused", { status: err.status, reason: err.name });
      } else {
        logger.error("request failed", err as Error);
        request.response = internalError(requestId);
      }
    })
    .handler(base);
}
