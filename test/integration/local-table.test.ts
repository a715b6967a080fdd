// The local runtime's table set-up: an existing table made before an index was defined gains it and keeps its data.
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { randomUUID } from "node:crypto";
import { expect, it, inject } from "vitest";
import { ensureTable } from "../../local/dynamodb.ts";
import { tableDefinition } from "../../shared/db/table.ts";

const endpoint = inject("local").dynamodbEndpoint;
const client = new DynamoDBClient({ endpoint });
const doc = DynamoDBDocumentClient.from(client);
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

it("adds the indexes an older table lacks, backfilled from the items it already holds", async () => {
  const name = `old-${randomUUID().slice(0, 8)}`;
  const def = tableDefinition(name);
  const keep = new Set(["PK", "SK", "GSI1PK", "GSI1SK"]);
  await client.send(
    new CreateTableCommand({
      ...def,
      AttributeDefinitions: def.AttributeDefinitions.filter((a) => keep.has(a.AttributeName)),
      GlobalSecondaryIndexes: def.GlobalSecondaryIndexes.slice(0, 1),
    }),
  );
  await doc.send(new PutCommand({ TableName: name, Item: { PK: "a", SK: "b", GSI3PK: "x", GSI3SK: "y", v: 1 } }));

  await ensureTable(endpoint, name, quiet as never);

  const t = await client.send(new DescribeTableCommand({ TableName: name }));
  expect((t.Table?.GlobalSecondaryIndexes ?? []).map((g) => g.IndexName).sort()).toEqual(
    def.GlobalSecondaryIndexes.map((g) => g.IndexName).sort(),
  );
  const found = await doc.send(
    new QueryCommand({
      TableName: name,
      IndexName: "GSI3",
      KeyConditionExpression: "GSI3PK = :p",
      ExpressionAttributeValues: { ":p": "x" },
    }),
  );
  expect(found.Items?.map((i) => i.v)).toEqual([1]);
});
