// Serves BatchGetItem from items a unit test stores, as DynamoDB would: each requested key that is stored comes back.
import { BatchGetCommand, type BatchGetCommandInput } from "@aws-sdk/lib-dynamodb";
import type { mockClient } from "aws-sdk-client-mock";

type Key = { PK: string; SK: string };

/**
 * Makes `mock` answer every BatchGetCommand from the items stored through the returned function (none at first: no
 * user record, so the token's roles apply). Stored items get their key attributes.
 */
export function serveBatchGets(mock: ReturnType<typeof mockClient>) {
  const items: Record<string, unknown>[] = [];
  mock.on(BatchGetCommand).callsFake((input: BatchGetCommandInput) => {
    const responses: Record<string, Record<string, unknown>[]> = {};
    for (const [table, req] of Object.entries(input.RequestItems ?? {})) {
      const keys = (req.Keys ?? []) as Key[];
      responses[table] = items.filter((i) => keys.some((k) => k.PK === i.PK && k.SK === i.SK));
    }
    return { Responses: responses };
  });
  return (key: Key, item: Record<string, unknown>) => void items.push({ ...item, ...key });
}
