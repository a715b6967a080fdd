// The index reads a reminder tick makes: a range of the customers' activity index and of the orders' status index,
// one shard at a time, a page at a time; and the repair of a customer's activity row that lagged.
import { BatchWriteCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { env } from "../../config/env.ts";
import { ddb } from "../../db/client.ts";
import { customerKeys } from "../customers/keys.ts";
import { activityIndex } from "../customers/repository.ts";
import { orderKeys } from "../orders/keys.ts";
import { reminderKeys } from "./keys.ts";

const table = () => env.TABLE_NAME;

export const shardCount = () => env.LIST_SHARDS;

export interface RangePage {
  items: Record<string, unknown>[];
  /** The last index sort key read, to resume after; undefined when the range is exhausted. */
  last?: Record<string, unknown>;
}

/** Rows of one GSI3 partition whose sort key is in [from, to). */
async function range(pk: string, from: string, to: string, start: Record<string, unknown> | undefined, limit: number) {
  const res = await ddb.send(
    new QueryCommand({
      TableName: table(),
      IndexName: "GSI3",
      KeyConditionExpression: "GSI3PK = :pk AND GSI3SK BETWEEN :from AND :to",
      // BETWEEN is inclusive; `to` is a cutoff instant and sort keys are `<instant>#<id>`, so `<cutoff>` itself
      // (without `#`) sorts before every row at the cutoff: rows at the cutoff are not included.
      ExpressionAttributeValues: { ":pk": pk, ":from": from, ":to": to },
      Limit: limit,
      ExclusiveStartKey: start,
    }),
  );
  return { items: res.Items ?? [], last: res.LastEvaluatedKey } satisfies RangePage;
}

/** Customer profiles (full items) whose last activity is in [from, to), on one shard. */
export function activityRange(
  tenant: string,
  shard: number,
  from: string,
  to: string,
  start: Record<string, unknown> | undefined,
  limit = 500,
) {
  return range(customerKeys.activityPk(tenant, shard), from, to, start, limit);
}

/** Orders (full items) that reached `status` in [from, to) and are still in it, on one shard. */
export function orderStatusRange(
  tenant: string,
  status: string,
  shard: number,
  from: string,
  to: string,
  start: Record<string, unknown> | undefined,
  limit = 500,
) {
  return range(orderKeys.statusPk(tenant, status, shard), from, to, start, limit);
}

/**
 * Contacts (full items) whose birthday's month and day (`MM-DD`) is in [fromMonthDay, toMonthDay] (both included), on
 * one shard of the birthday index.
 */
export function birthdayRange(
  tenant: string,
  shard: number,
  fromMonthDay: string,
  toMonthDay: string,
  start: Record<string, unknown> | undefined,
  limit = 500,
) {
  return range(customerKeys.birthdayPk(tenant, shard), fromMonthDay, `${toMonthDay}#~`, start, limit);
}

/**
 * Gives an item its GSI3 row unless it has one (the backfill): conditional on the item existing without GSI3PK and on
 * `same` (attribute -> value the row was computed from) still holding, so a live writer's row or a change made
 * meanwhile wins. Resolves true when it wrote.
 */
export async function setIndexIfMissing(
  key: { PK: string; SK: string },
  index: { GSI3PK: string; GSI3SK: string },
  same: Record<string, unknown>,
): Promise<boolean> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ":pk": index.GSI3PK, ":sk": index.GSI3SK };
  const conds = ["attribute_exists(PK)", "attribute_not_exists(GSI3PK)"];
  Object.entries(same).forEach(([attr, value], i) => {
    names[`#a${i}`] = attr;
    values[`:a${i}`] = value;
    conds.push(`#a${i} = :a${i}`);
  });
  try {
    await ddb.send(
      new UpdateCommand({
        TableName: table(),
        Key: key,
        UpdateExpression: "SET GSI3PK = :pk, GSI3SK = :sk",
        ConditionExpression: conds.join(" AND "),
        ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
        ExpressionAttributeValues: values,
      }),
    );
    return true;
  } catch (err) {
    if ((err as Error).name === "ConditionalCheckFailedException") return false;
    throw err;
  }
}

/** Moves a profile's activity row to `at` if it still says `seen` (another writer moving it wins). */
export async function repairActivity(tenant: string, id: string, seen: string, at: string): Promise<void> {
  const act = activityIndex(tenant, id, at);
  await ddb
    .send(
      new UpdateCommand({
        TableName: table(),
        Key: { PK: customerKeys.pk(tenant, id), SK: customerKeys.profileSk() },
        UpdateExpression: "SET GSI3PK = :pk, GSI3SK = :sk",
        ConditionExpression: "GSI3SK = :seen",
        ExpressionAttributeValues: { ":pk": act.GSI3PK, ":sk": act.GSI3SK, ":seen": seen },
      }),
    )
    .catch((err: Error) => {
      if (err.name !== "ConditionalCheckFailedException") throw err;
    });
}

/** One page of a shard of the tenant's customer list (GSI1), for planning a new date rule. */
export async function customerListPage(
  tenant: string,
  shard: number,
  start: Record<string, unknown> | undefined,
  limit = 500,
): Promise<RangePage> {
  const res = await ddb.send(
    new QueryCommand({
      TableName: table(),
      IndexName: "GSI1",
      KeyConditionExpression: "GSI1PK = :pk",
      ExpressionAttributeValues: { ":pk": customerKeys.listPk(tenant, shard) },
      Limit: limit,
      ExclusiveStartKey: start,
    }),
  );
  return { items: res.Items ?? [], last: res.LastEvaluatedKey };
}

export interface DatePlan {
  customerId: string;
  /** The date the field names (the period). */
  date: string;
  /** The local day the reminder becomes due. */
  dueFrom: string;
}

/** Writes plan items (idempotent Puts, 25 per request, unprocessed ones retried). */
export async function putDatePlans(tenant: string, ruleId: string, plans: DatePlan[]): Promise<void> {
  const requests = plans.map((p) => ({
    PutRequest: {
      Item: {
        PK: reminderKeys.datePlanPk(tenant, ruleId, reminderKeys.shard(p.customerId, shardCount())),
        SK: reminderKeys.datePlanSk(p.dueFrom, p.customerId),
        entity: "reminder-date-plan",
        ...p,
      },
    },
  }));
  await batchWrite(requests);
}

export async function deleteDatePlans(tenant: string, ruleId: string, plans: DatePlan[]): Promise<void> {
  const requests = plans.map((p) => ({
    DeleteRequest: {
      Key: {
        PK: reminderKeys.datePlanPk(tenant, ruleId, reminderKeys.shard(p.customerId, shardCount())),
        SK: reminderKeys.datePlanSk(p.dueFrom, p.customerId),
      },
    },
  }));
  await batchWrite(requests);
}

async function batchWrite(requests: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    let batch: Record<string, unknown>[] | undefined = requests.slice(i, i + 25);
    for (let attempt = 0; batch?.length; attempt++) {
      const res = await ddb.send(new BatchWriteCommand({ RequestItems: { [table()]: batch as never } }));
      batch = res.UnprocessedItems?.[table()] as Record<string, unknown>[] | undefined;
      if (batch?.length) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
    }
  }
}

/** Plan items of a date rule due on or before `today`, on one shard. */
export async function duePlans(
  tenant: string,
  ruleId: string,
  shard: number,
  today: string,
  start: Record<string, unknown> | undefined,
  limit = 500,
) {
  const res = await ddb.send(
    new QueryCommand({
      TableName: table(),
      KeyConditionExpression: "PK = :pk AND SK <= :to",
      ExpressionAttributeValues: { ":pk": reminderKeys.datePlanPk(tenant, ruleId, shard), ":to": `${today}#~` },
      Limit: limit,
      ExclusiveStartKey: start,
    }),
  );
  return { items: (res.Items ?? []) as unknown as DatePlan[], last: res.LastEvaluatedKey };
}
