// pageLiveIds: the bulk jobs' walk over every live customer, one list shard after the other, ids only.
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { customerKeys } from "../../../shared/domain/customers/keys.ts";
import { pageLiveIds } from "../../../shared/domain/customers/repository.ts";

const ddbMock = mockClient(DynamoDBDocumentClient);
const SHARDS = Number(process.env.LIST_SHARDS ?? 8);

beforeEach(() => ddbMock.reset());

describe("pageLiveIds", () => {
  it("reads one shard at a time, ids only, goes past empty shards in one call, and ends after the last shard", async () => {
    // Shard 0 has two pages, shard 1 one, the others none.
    ddbMock
      .on(QueryCommand)
      .callsFake((input: { ExpressionAttributeValues: { ":pk": string }; ExclusiveStartKey?: unknown }) => {
        const pk = input.ExpressionAttributeValues[":pk"];
        if (pk === customerKeys.listPk("acme", 0)) {
          return input.ExclusiveStartKey
            ? { Items: [{ id: "c3" }] }
            : { Items: [{ id: "c1" }, { id: "c2" }], LastEvaluatedKey: { PK: "k2" } };
        }
        if (pk === customerKeys.listPk("acme", 1)) return { Items: [{ id: "c4" }] };
        return { Items: [] };
      });
    const seen: string[] = [];
    let state: Awaited<ReturnType<typeof pageLiveIds>>["state"];
    let pages = 0;
    do {
      const page = await pageLiveIds("acme", 2, state);
      seen.push(...page.ids);
      state = page.state;
      pages++;
    } while (state);
    expect(seen).toEqual(["c1", "c2", "c3", "c4"]);
    // [c1, c2], [c3], [c4], then one call that finds shards 2.. empty: no page of no ids while shards remain.
    expect(pages).toBe(SHARDS > 2 ? 4 : 3);
    expect(ddbMock.commandCalls(QueryCommand)).toHaveLength(SHARDS + 1);
    const calls = ddbMock.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(calls.every((i) => i.ProjectionExpression === "#id" && i.Limit === 2 && i.IndexName === "GSI1")).toBe(true);
    expect(calls[1]!.ExclusiveStartKey).toEqual({ PK: "k2" });
    // Never another tenant's partitions.
    expect(calls.every((i) => String(i.ExpressionAttributeValues?.[":pk"]).startsWith("T#acme#"))).toBe(true);
  });
});
