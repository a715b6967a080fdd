// What DynamoDB Local reports as consumed capacity for TransactWriteItems, against what DynamoDB bills (2 write units
// per item per started KB, for every item of the transaction). Run: node --import tsx bench/capacity-probe.ts
// Prints one line per case: the capacity DynamoDB Local returned and the units DynamoDB's rule gives.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
process.env.AWS_REGION ??= "us-east-1";
process.env.AWS_ACCESS_KEY_ID ??= "local";
process.env.AWS_SECRET_ACCESS_KEY ??= "local";

const { startDynamoDbLocal, ensureTable } = await import("../local/dynamodb.ts");
const { DynamoDBClient, TransactWriteItemsCommand, BatchWriteItemCommand } = await import("@aws-sdk/client-dynamodb");
const quiet = { info: () => undefined, warn: () => undefined, error: (m: string) => console.error(m) };
const dir = await mkdtemp(join(tmpdir(), "cm-capacity-probe-"));
const db = await startDynamoDbLocal({ dbPath: dir, log: quiet });
try {
  const TABLE = "capacity-probe";
  await ensureTable(db.endpoint, TABLE, quiet);
  const client = new DynamoDBClient({ endpoint: db.endpoint });
  /** An item of about `kb` KB. */
  const item = (k: string, kb: number) => ({
    PK: { S: k },
    SK: { S: "A" },
    v: { S: "x".repeat(Math.max(1, Math.round(kb * 1024) - 40)) },
  });
  const put = (k: string, kb: number) => ({ Put: { TableName: TABLE, Item: item(k, kb) } });
  const cases: [string, number[]][] = [
    ["2 puts of 0.1 KB", [0.1, 0.1]],
    ["10 puts of 0.1 KB", Array(10).fill(0.1)],
    ["2 puts of 1.5 KB", [1.5, 1.5]],
    ["1 put of 1.5 KB + 9 of 0.1 KB", [1.5, ...Array(9).fill(0.1)]],
    ["9 puts of 0.1 KB + 1 of 3.5 KB", [...Array(9).fill(0.1), 3.5]],
  ];
  let n = 0;
  for (const [label, sizes] of cases) {
    const res = await client.send(
      new TransactWriteItemsCommand({
        TransactItems: sizes.map((kb) => put(`t${n++}`, kb)),
        ReturnConsumedCapacity: "TOTAL",
      }),
    );
    const reported = res.ConsumedCapacity?.reduce((s, c) => s + (c.CapacityUnits ?? 0), 0);
    const billed = sizes.reduce((s, kb) => s + 2 * Math.ceil(kb), 0);
    console.log(`TransactWriteItems, ${label}: DynamoDB Local reports ${reported}, DynamoDB's rule gives ${billed}`);
  }
  const res = await client.send(
    new BatchWriteItemCommand({
      RequestItems: { [TABLE]: [0.1, 1.5, 3.5].map((kb) => ({ PutRequest: { Item: item(`b${n++}`, kb) } })) },
      ReturnConsumedCapacity: "TOTAL",
    }),
  );
  const reported = res.ConsumedCapacity?.reduce((s, c) => s + (c.CapacityUnits ?? 0), 0);
  console.log(`BatchWriteItem, 0.1 + 1.5 + 3.5 KB: DynamoDB Local reports ${reported}, DynamoDB's rule gives 7`);
} finally {
  await db.stop();
  await rm(dir, { recursive: true, force: true });
}
