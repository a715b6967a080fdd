// Queries of the base table: one page of a prefix of an item collection, or every page to the end (items or count).
import { QueryCommand, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { env } from "../config/env.ts";
import { ddb } from "./client.ts";
import type { Filter } from "./sharded.ts";

type Input = Omit<QueryCommandInput, "Select" | "ExclusiveStartKey">;

/** Every item a Query matches, page after page (for collections known to be small: one customer's, one tenant's). */
export async function queryAll(input: Input): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const res = await ddb.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
    items.push(...(res.Items ?? []));
    start = res.LastEvaluatedKey;
  } while (start);
  return items;
}

/** The number of items a Query matches (`Select: COUNT`, every page), without reading them out. */
export async function countQuery(input: Input): Promise<number> {
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const res = await ddb.send(new QueryCommand({ ...input, Select: "COUNT", ExclusiveStartKey: start }));
    count += res.Count ?? 0;
    start = res.LastEvaluatedKey;
  } while (start);
  return count;
}

/** A page of {@link queryPrefixPage}: the items and where the next page starts (undefined at the end). */
export interface PrefixPage {
  items: Record<string, unknown>[];
  state: Record<string, unknown> | undefined;
}

/**
 * One page of the items of partition `pk` whose sort key starts with `prefix` (e.g. a customer's contacts), in sort
 * key order or, with `newestFirst`, the reverse; `filter` is applied by DynamoDB after the read (a page may come back
 * short of `limit` and still have a next one).
 */
export async function queryPrefixPage(input: {
  pk: string;
  prefix: string;
  limit: number;
  start: Record<string, unknown> | undefined;
  newestFirst?: boolean;
  filter?: Filter;
}): Promise<PrefixPage> {
  const { filter } = input;
  const res = await ddb.send(
    new QueryCommand({
      TableName: env.TABLE_NAME,
      KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
      FilterExpression: filter?.expression,
      ExpressionAttributeNames: filter?.names,
      ExpressionAttributeValues: { ":pk": input.pk, ":prefix": input.prefix, ...filter?.values },
      ScanIndexForward: !input.newestFirst,
      Limit: input.limit,
      ExclusiveStartKey: input.start,
    }),
  );
  return { items: res.Items ?? [], state: res.LastEvaluatedKey };
}
