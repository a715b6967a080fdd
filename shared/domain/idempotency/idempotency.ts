// Idempotency-Key support for creates: the first result is stored in the same transaction as the create and replayed.
import { createHash } from "node:crypto";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { env } from "../../config/env.ts";
import { ddb } from "../../db/client.ts";
import { TTL_ATTRIBUTE } from "../../db/table.ts";
import type { GuardedItem } from "../../db/transact.ts";
import { BadRequestError, ConflictError, UnprocessableError } from "../../http/errors.ts";

export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

export const idempotencyKeys = {
  pk: (tenant: string, key: string) => `T#${tenant}#IDEM#${createHash("sha256").update(key).digest("base64url")}`,
  sk: () => "IDEM",
};

export interface StoredResult {
  status: number;
  body: unknown;
}

export interface IdempotencyContext {
  tenant: string;
  key: string;
  /** Fingerprint of what was asked (route + body): the same key with another request is refused. */
  fingerprint: string;
}

/** JSON with object keys sorted, so the same body sent with its keys in another order has the same fingerprint. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

/** Reads and checks the Idempotency-Key header; undefined when the request carries none. */
export function idempotencyFrom(
  tenant: string,
  headerValue: string | undefined,
  route: string,
  body: unknown,
): IdempotencyContext | undefined {
  if (headerValue === undefined) return undefined;
  const key = headerValue.trim();
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new BadRequestError("Idempotency-Key must be 1 to 255 printable ASCII characters");
  }
  const fingerprint = createHash("sha256")
    .update(route)
    .update("\n")
    .update(canonicalJson(body ?? null))
    .digest("hex");
  return { tenant, key, fingerprint };
}

/** The stored result of an earlier request with this key, if one completed within 24 h. */
export async function findReplay(ctx: IdempotencyContext): Promise<StoredResult | undefined> {
  const res = await ddb.send(
    new GetCommand({
      TableName: env.TABLE_NAME,
      Key: { PK: idempotencyKeys.pk(ctx.tenant, ctx.key), SK: idempotencyKeys.sk() },
      ConsistentRead: true,
    }),
  );
  const item = res.Item;
  if (!item || (item[TTL_ATTRIBUTE] as number) * 1000 < Date.now()) return undefined;
  if (item.fingerprint !== ctx.fingerprint) {
    throw new UnprocessableError("this Idempotency-Key was already used with a different request");
  }
  return { status: item.status as number, body: item.body };
}

/** A transaction item that records the result; it fails if another request with the key got there first. */
export function idempotencyPut(ctx: IdempotencyContext, result: StoredResult): GuardedItem {
  const now = Math.floor(Date.now() / 1000);
  return {
    item: {
      Put: {
        TableName: env.TABLE_NAME,
        Item: {
          PK: idempotencyKeys.pk(ctx.tenant, ctx.key),
          SK: idempotencyKeys.sk(),
          entity: "idempotency",
          fingerprint: ctx.fingerprint,
          status: result.status,
          body: result.body,
          [TTL_ATTRIBUTE]: now + IDEMPOTENCY_TTL_SECONDS,
        },
        ConditionExpression: "attribute_not_exists(PK) OR #ttl < :now",
        ExpressionAttributeNames: { "#ttl": TTL_ATTRIBUTE },
        ExpressionAttributeValues: { ":now": now },
      },
    },
    onConditionFailed: () => new IdempotencyRace(),
  };
}

/** Raised when a concurrent request with the same key won; the caller re-reads and replays its result. */
export class IdempotencyRace extends ConflictError {
  constructor() {
    super("a request with the same Idempotency-Key is being processed");
  }
}

/**
 * Runs `create` at most once per key: replays a stored result, or creates and stores it atomically.
 * `create` receives the idempotency transaction item builder to include in its own transaction.
 */
export async function once(
  ctx: IdempotencyContext | undefined,
  create: (record: (result: StoredResult) => GuardedItem | undefined) => Promise<StoredResult>,
): Promise<StoredResult & { replayed: boolean }> {
  if (!ctx) return { ...(await create(() => undefined)), replayed: false };
  const earlier = await findReplay(ctx);
  if (earlier) return { ...earlier, replayed: true };
  try {
    return { ...(await create((result) => idempotencyPut(ctx, result))), replayed: false };
  } catch (err) {
    if (!(err instanceof IdempotencyRace)) throw err;
    const winner = await findReplay(ctx);
    if (winner) return { ...winner, replayed: true };
    throw err;
  }
}
