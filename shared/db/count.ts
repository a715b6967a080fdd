// Counting with DynamoDB: a COUNT Query (no items returned) followed page by page to its end.
import { QueryCommand, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { ddb } from "./client.ts";

/** The number of items a Query matches (`Select: COUNT`, every page), without reading them out. */
export async function countQuery(input: Omit<QueryCommandInput, "Select" | "ExclusiveStartKey">): Promise<number> {
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const res = await ddb.send(new QueryCommand({ ...input, Select: "COUNT", ExclusiveStartKey: start }));
    count += res.Count ?? 0;
    start = res.LastEvaluatedKey;
  } while (start);
  return count;
}
