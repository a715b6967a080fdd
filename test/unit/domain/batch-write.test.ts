// Unit tests for batchWriteAll: requests of 25, UnprocessedItems sent again (only those), and a clear error when
// DynamoDB keeps returning them.
import { BatchWriteCommand, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  batchWriteAll,
  MAX_BATCH_ATTEMPTS,
  UnprocessedItemsError,
  type WriteRequest,
} from "../../../shared/db/batch.ts";

const ddbMock = mockClient(DynamoDBDocumentClient);
const TABLE = "unit-table";

const aPut = (pk: string): WriteRequest => ({ PutRequest: { Item: { PK: pk, SK: "S", entity: "customer-search" } } });
const puts = (n: number) => Array.from({ length: n }, (_, i) => aPut(`P-${i}`));
const sentIn = (call: number) =>
  (ddbMock.commandCalls(BatchWriteCommand)[call]!.args[0].input.RequestItems![TABLE] ?? []) as WriteRequest[];

beforeEach(() => {
  ddbMock.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("batchWriteAll", () => {
  it("writes 60 items in requests of at most 25", async () => {
    // Prepare
    ddbMock.on(BatchWriteCommand).resolves({});

    // Act
    await batchWriteAll(puts(60), 1);

    // Assess
    const sizes = ddbMock.commandCalls(BatchWriteCommand).map((c) => c.args[0].input.RequestItems![TABLE]!.length);
    expect(sizes).toEqual([25, 25, 10]);
  });

  it("sends the items returned as UnprocessedItems again, and only those", async () => {
    // Prepare: the first answer leaves two items unprocessed (throttled), the second takes them.
    const items = puts(5);
    ddbMock
      .on(BatchWriteCommand)
      .resolvesOnce({ UnprocessedItems: { [TABLE]: [items[1]!, items[3]!] as never } })
      .resolves({});

    // Act
    await batchWriteAll(items);

    // Assess
    expect(ddbMock.commandCalls(BatchWriteCommand)).toHaveLength(2);
    expect(sentIn(0)).toEqual(items);
    expect(sentIn(1)).toEqual([items[1], items[3]]);
  });

  it("gives up with UnprocessedItemsError when items stay unprocessed on every attempt", async () => {
    // Prepare
    const items = puts(2);
    ddbMock.on(BatchWriteCommand).resolves({ UnprocessedItems: { [TABLE]: [items[0]!] as never } });

    vi.useFakeTimers();

    // Act
    const done = batchWriteAll(items).catch((e: unknown) => e);
    await vi.runAllTimersAsync();

    // Assess
    expect(await done).toBeInstanceOf(UnprocessedItemsError);
    expect(ddbMock.commandCalls(BatchWriteCommand)).toHaveLength(MAX_BATCH_ATTEMPTS);
    vi.useRealTimers();
  });
});
