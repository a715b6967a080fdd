// The index reads a reminder tick makes: a range of the customers' activity index and of the orders' status index,
// one shard at a time, a page at a time; and the repair of a customer's activity row that lagged.
import { QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { env } from "../../config/env.ts";
import { ddb } from "../../db/client.ts";
import { customerKeys } from "../customers/keys.ts";
import { activityIndex } from "../customers/repository.ts";
import { orderKeys } from "../orders/keys.ts";

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
