// All DynamoDB access for orders: the order item, its id pointer, the customer's stats and the scoped list indexes.
import { BatchGetCommand, type BatchGetCommandOutput, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { env } from "../../config/env.ts";
import { queryPrefixPage } from "../../db/query.ts";
import { ddb } from "../../db/client.ts";
import { mergedQuery, type Filter, type ShardCursor } from "../../db/sharded.ts";
import { type GuardedItem, transact } from "../../db/transact.ts";
import { ConflictError } from "../../http/errors.ts";
import { customerKeys } from "../customers/keys.ts";
import { activityIndex } from "../customers/repository.ts";
import { orderKeys as K } from "./keys.ts";
import type { OrderRecord } from "./present.ts";

const table = () => env.TABLE_NAME;
const shards = () => env.LIST_SHARDS;

function indexKeys(tenant: string, o: OrderRecord) {
  const shard = K.shard(o.id, shards());
  return {
    GSI1PK: K.listPk(tenant, shard),
    GSI1SK: o.id,
    GSI2PK: K.ownerPk(tenant, o.ownerId),
    GSI2SK: o.id,
    ...(o.deptPath ? { GSI4PK: K.scopePk(tenant, shard), GSI4SK: K.scopeSk(o.deptPath, o.id) } : {}),
    // By status and when the order reached it: reminders "n days after an order reaches a status" read a range.
    GSI3PK: K.statusPk(tenant, o.status, shard),
    GSI3SK: K.statusSk(o.history.at(-1)?.at ?? o.createdAt, o.id),
  };
}

/** The order's item as stored: keys, list indexes and the record. */
export const orderItem = (tenant: string, o: OrderRecord) => ({
  PK: K.pk(tenant, o.customerId),
  SK: K.sk(o.id),
  entity: "order",
  ...indexKeys(tenant, o),
  ...o,
});

/** The order's item without keys. */
export function toOrder(item: Record<string, unknown>): OrderRecord {
  const {
    PK: _p,
    SK: _s,
    GSI1PK: _a,
    GSI1SK: _b,
    GSI2PK: _c,
    GSI2SK: _d,
    GSI4PK: _e,
    GSI3PK: _g3p,
    GSI3SK: _g3s,
    GSI4SK: _f,
    entity: _g,
    ...o
  } = item;
  return o as unknown as OrderRecord;
}

/** Changes to the customer's `stats` map: ADD of counters (fen, counts), SET of dates, optional guard on receivable. */
export interface StatsChange {
  add: Record<string, number>;
  set?: Record<string, string>;
  setIfAbsent?: Record<string, string>;
  /** Refuse (with `onRefused`) unless the receivable before this change is at most this many fen. */
  receivableAtMost?: number;
  /**
   * Dated bookings (an imported order approved on its own date, not now): SET each field only while the stored value
   * is absent or earlier (`setIfLater`) / later (`setIfEarlier`), as a condition; the caller includes a field only
   * when the value it read says the date moves it, and re-reads when the condition refuses.
   */
  setIfLater?: Record<string, string>;
  setIfEarlier?: Record<string, string>;
  /** With `setIfLater.lastOrderAt`: also move the reminders' activity index to it, while it is earlier. */
  moveActivity?: boolean;
  onRefused?: () => Error;
}

/**
 * One UpdateItem on the customer's profile that touches only `stats.*` (never fields the customer PATCH owns), so it
 * commutes with every other writer: counters move by ADD, concurrent orders never overwrite each other.
 */
export function statsUpdate(tenant: string, customerId: string, c: StatsChange): GuardedItem {
  const names: Record<string, string> = { "#st": "stats" };
  const values: Record<string, unknown> = {};
  const adds: string[] = [];
  const sets: string[] = [];
  let n = 0;
  for (const [k, v] of Object.entries(c.add)) {
    names[`#a${n}`] = k;
    values[`:a${n}`] = v;
    adds.push(`#st.#a${n} :a${n}`);
    n++;
  }
  for (const [k, v] of Object.entries(c.set ?? {})) {
    names[`#a${n}`] = k;
    values[`:a${n}`] = v;
    sets.push(`#st.#a${n} = :a${n}`);
    n++;
  }
  for (const [k, v] of Object.entries(c.setIfAbsent ?? {})) {
    names[`#a${n}`] = k;
    values[`:a${n}`] = v;
    sets.push(`#st.#a${n} = if_not_exists(#st.#a${n}, :a${n})`);
    n++;
  }
  let condition = "attribute_exists(PK) AND attribute_not_exists(deletedAt)";
  for (const [k, v, op] of [
    ...Object.entries(c.setIfLater ?? {}).map(([k, v]) => [k, v, "<"] as const),
    ...Object.entries(c.setIfEarlier ?? {}).map(([k, v]) => [k, v, ">"] as const),
  ]) {
    names[`#a${n}`] = k;
    values[`:a${n}`] = v;
    sets.push(`#st.#a${n} = :a${n}`);
    condition += ` AND (attribute_not_exists(#st.#a${n}) OR #st.#a${n} ${op} :a${n})`;
    n++;
  }
  const activityAt = c.set?.lastOrderAt ?? (c.moveActivity ? c.setIfLater?.lastOrderAt : undefined);
  if (activityAt) {
    // An approval is activity: the reminders' activity index (GSI3) moves with lastOrderAt.
    const act = activityIndex(tenant, customerId, activityAt);
    values[":g3pk"] = act.GSI3PK;
    values[":g3sk"] = act.GSI3SK;
    sets.push("GSI3PK = :g3pk", "GSI3SK = :g3sk");
    // A dated booking never moves the activity back (an interaction may be later than the imported order).
    if (!c.set?.lastOrderAt) condition += " AND (attribute_not_exists(GSI3SK) OR GSI3SK < :g3sk)";
  }
  if (c.receivableAtMost !== undefined) {
    names["#rcv"] = "receivable";
    values[":max"] = c.receivableAtMost;
    condition += " AND (attribute_not_exists(#st.#rcv) OR #st.#rcv <= :max)";
  }
  const expr = [adds.length ? `ADD ${adds.join(", ")}` : "", sets.length ? `SET ${sets.join(", ")}` : ""].join(" ");
  return {
    item: {
      Update: {
        TableName: table(),
        Key: { PK: customerKeys.pk(tenant, customerId), SK: customerKeys.profileSk() },
        UpdateExpression: expr.trim(),
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    },
    onConditionFailed: c.onRefused ?? (() => new ConflictError(`customer ${customerId} was deleted meanwhile`)),
  };
}

/** The order number is taken by another order of the tenant. */
export class OrderNumberTakenError extends ConflictError {
  constructor(readonly code: string) {
    super(`order number ${code} is already used by another order`);
  }
}

/**
 * Creates the order with its id pointer and its number's guard while the customer is live, plus `extras` (audit,
 * stats), atomically. `checkCustomer: false` when `extras` already update the profile under the same condition
 * (a transaction touches an item once).
 */
export async function insertOrder(
  tenant: string,
  o: OrderRecord,
  extras: GuardedItem[],
  opts: { checkCustomer?: boolean } = {},
): Promise<void> {
  await transact([
    {
      item: {
        Put: { TableName: table(), Item: orderItem(tenant, o), ConditionExpression: "attribute_not_exists(PK)" },
      },
      onConditionFailed: () => new ConflictError("an order with this id already exists"),
    },
    {
      item: {
        Put: {
          TableName: table(),
          Item: { PK: K.refPk(tenant, o.id), SK: K.refSk(), entity: "order-ref", customerId: o.customerId },
          ConditionExpression: "attribute_not_exists(PK)",
        },
      },
    },
    {
      item: {
        Put: {
          TableName: table(),
          Item: {
            PK: K.codeGuardPk(tenant, o.code),
            SK: K.guardSk(),
            entity: "order-code",
            orderId: o.id,
            customerId: o.customerId,
          },
          ConditionExpression: "attribute_not_exists(PK)",
        },
      },
      onConditionFailed: () => new OrderNumberTakenError(o.code),
    },
    ...(opts.checkCustomer === false
      ? []
      : [
          {
            item: {
              ConditionCheck: {
                TableName: table(),
                Key: { PK: customerKeys.pk(tenant, o.customerId), SK: customerKeys.profileSk() },
                ConditionExpression: "attribute_exists(PK) AND attribute_not_exists(deletedAt)",
              },
            },
            onConditionFailed: () => new ConflictError(`customer ${o.customerId} was deleted meanwhile`),
          },
        ]),
    ...extras,
  ]);
}

/** The order each number names (guard items, read consistently): upper-cased number -> {orderId, customerId}. */
export async function ordersByNumber(
  tenant: string,
  codes: Iterable<string>,
): Promise<Map<string, { orderId: string; customerId: string }>> {
  const keys = [...new Set([...codes].map((c) => c.toUpperCase()))].map((c) => ({
    PK: K.codeGuardPk(tenant, c),
    SK: K.guardSk(),
  }));
  const out = new Map<string, { orderId: string; customerId: string }>();
  for (let i = 0; i < keys.length; i += 100) {
    let pending: Record<string, unknown>[] | undefined = keys.slice(i, i + 100);
    for (let attempt = 0; pending?.length; attempt++) {
      const res: BatchGetCommandOutput = await ddb.send(
        new BatchGetCommand({ RequestItems: { [table()]: { Keys: pending, ConsistentRead: true } } }),
      );
      for (const item of res.Responses?.[table()] ?? []) {
        const code = String(item.PK).slice(K.codeGuardPk(tenant, "").length);
        out.set(code, { orderId: item.orderId as string, customerId: item.customerId as string });
      }
      pending = res.UnprocessedKeys?.[table()]?.Keys;
      if (pending?.length) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
    }
  }
  return out;
}

/** Replaces the order if it is still at `expectedVersion`, with the stats change and extras in the same transaction. */
export async function writeOrder(
  tenant: string,
  o: OrderRecord,
  expectedVersion: number,
  extras: GuardedItem[],
): Promise<void> {
  await transact([
    {
      item: {
        Put: {
          TableName: table(),
          Item: orderItem(tenant, o),
          ConditionExpression: "version = :v",
          ExpressionAttributeValues: { ":v": expectedVersion },
        },
      },
      onConditionFailed: () =>
        new ConflictError(`order ${o.id} was changed by someone else; read it again and retry with the new version`),
    },
    ...extras,
  ]);
}

/** The customer an order belongs to, from its pointer. */
export async function customerOfOrder(tenant: string, id: string): Promise<string | undefined> {
  const res = await ddb.send(new GetCommand({ TableName: table(), Key: { PK: K.refPk(tenant, id), SK: K.refSk() } }));
  return res.Item?.customerId as string | undefined;
}

export async function getOrderItem(tenant: string, customerId: string, id: string): Promise<OrderRecord | undefined> {
  const res = await ddb.send(
    new GetCommand({ TableName: table(), Key: { PK: K.pk(tenant, customerId), SK: K.sk(id) }, ConsistentRead: true }),
  );
  return res.Item ? toOrder(res.Item) : undefined;
}

export interface OrderPage {
  items: OrderRecord[];
  state?: unknown;
}

/** One customer's orders, newest first, from its item collection. */
export async function listOfCustomer(
  tenant: string,
  customerId: string,
  filter: Filter | undefined,
  limit: number,
  start: Record<string, unknown> | undefined,
): Promise<OrderPage> {
  const page = await queryPrefixPage({
    pk: K.pk(tenant, customerId),
    prefix: K.prefix(),
    limit,
    start,
    newestFirst: true,
    filter,
  });
  return { items: page.items.map(toOrder), state: page.state };
}

/** Orders of one owner's customers, newest first (GSI2). */
export async function listOfOwner(
  tenant: string,
  ownerId: string,
  filter: Filter | undefined,
  limit: number,
  start: Record<string, unknown> | undefined,
): Promise<OrderPage> {
  const res = await ddb.send(
    new QueryCommand({
      TableName: table(),
      IndexName: "GSI2",
      KeyConditionExpression: "GSI2PK = :pk",
      FilterExpression: filter?.expression,
      ExpressionAttributeNames: filter?.names,
      ExpressionAttributeValues: { ":pk": K.ownerPk(tenant, ownerId), ...filter?.values },
      ScanIndexForward: false,
      Limit: limit,
      ExclusiveStartKey: start,
    }),
  );
  return { items: (res.Items ?? []).map(toOrder), state: res.LastEvaluatedKey };
}

/** The tenant's orders (GSI1), or one department / subtree (GSI4), across the shards. */
export async function listSharded(
  tenant: string,
  dept: { path: string; tree: boolean } | undefined,
  filter: Filter | undefined,
  limit: number,
  state: ShardCursor | undefined,
): Promise<OrderPage> {
  const partitions = Array.from({ length: shards() }, (_, s) => (dept ? K.scopePk(tenant, s) : K.listPk(tenant, s)));
  const res = await mergedQuery({
    index: dept ? "GSI4" : "GSI1",
    partitions,
    limit,
    descending: true,
    filter,
    state,
    skPrefix: dept ? K.scopePrefix(dept.path, dept.tree) : undefined,
  });
  return { items: res.items.map(toOrder), state: res.state };
}
