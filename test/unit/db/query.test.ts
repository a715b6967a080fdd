// countQuery and queryAll: a Query followed over every page.
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, expect, it } from "vitest";
import { countQuery, queryAll } from "../../../shared/db/query.ts";

const ddbMock = mockClient(DynamoDBDocumentClient);
beforeEach(() => ddbMock.reset());

it("sums the count of every page and asks for counts only", async () => {
  ddbMock
    .on(QueryCommand)
    .resolvesOnce({ Count: 1000, LastEvaluatedKey: { PK: "a", SK: "1" } })
    .resolvesOnce({ Count: 7 });
  const n = await countQuery({
    TableName: "t",
    KeyConditionExpression: "PK = :pk",
    ExpressionAttributeValues: { ":pk": "x" },
  });
  expect(n).toBe(1007);
  const inputs = ddbMock.commandCalls(QueryCommand).map((c) => c.args[0].input);
  expect(inputs).toHaveLength(2);
  expect(inputs.every((i) => i.Select === "COUNT")).toBe(true);
  expect(inputs[0]!.ExclusiveStartKey).toBeUndefined();
  expect(inputs[1]!.ExclusiveStartKey).toEqual({ PK: "a", SK: "1" });
});

it("queryAll follows every page and returns the items in order", async () => {
  ddbMock
    .on(QueryCommand)
    .resolvesOnce({ Items: [{ n: 1 }, { n: 2 }], LastEvaluatedKey: { PK: "a", SK: "2" } })
    .resolvesOnce({ Items: [{ n: 3 }] });
  expect(
    await queryAll({ TableName: "t", KeyConditionExpression: "PK = :pk", ExpressionAttributeValues: { ":pk": "x" } }),
  ).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  expect(ddbMock.commandCalls(QueryCommand)[1]!.args[0].input.ExclusiveStartKey).toEqual({ PK: "a", SK: "2" });
});
