// Queries followed page by page to their end: every item, or only their count.
import { QueryCommand, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { ddb } from "./client.ts";

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
