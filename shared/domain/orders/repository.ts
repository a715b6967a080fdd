// All DynamoDB access for orders: the order item, its id pointer, the customer's stats and the scoped list indexes.
import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { env } from "../../config/env.ts";
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
  if (c.set?.lastOrderAt) {
    // An approval is activity: the reminders' activity index (GSI3) moves with lastOrderAt.
    const act = activityIndex(tenant, customerId, c.set.lastOrderAt);
    values[":g3pk"] = act.GSI3PK;
    values[":g3sk"] = act.GSI3SK;
    sets.push("GSI3PK = :g3pk", "GSI3SK = :g3sk");
  }
  let condition = "attribute_exists(PK) AND attribute_not_exists(deletedAt)";
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

/** Creates the order with its id pointer while the customer is live, plus `extras` (audit), atomically. */
export async function insertOrder(tenant: string, o: OrderRecord, extras: GuardedItem[]): Promise<void> {
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
        ConditionCheck: {
          TableName: table(),
          Key: { PK: customerKeys.pk(tenant, o.customerId), SK: customerKeys.profileSk() },
          ConditionExpression: "attribute_exists(PK) AND attribute_not_exists(deletedAt)",
        },
      },
      onConditionFailed: () => new ConflictError(`customer ${o.customerId} was deleted meanwhile`),
    },
    ...extras,
  ]);
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
  const res = await ddb.send(
    new QueryCommand({
      TableName: table(),
      KeyConditionExpression: "PK = :pk AND begins_with(SK, :o)",
      FilterExpression: filter?.expression,
      ExpressionAttributeNames: filter?.names,
      ExpressionAttributeValues: { ":pk": K.pk(tenant, customerId), ":o": K.prefix(), ...filter?.values },
      ScanIndexForward: false,
      Limit: limit,
      ExclusiveStartKey: start,
    }),
  );
  return { items: (res.Items ?? []).map(toOrder), state: res.LastEvaluatedKey };
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
