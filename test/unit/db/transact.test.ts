// transact: what a writer learns from its own write (onCommitted) is only told once the transaction committed.
import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, expect, it, vi } from "vitest";
import { type GuardedItem, transact } from "../../../shared/db/transact.ts";

const ddbMock = mockClient(DynamoDBDocumentClient);
beforeEach(() => ddbMock.reset());

const put = (sk: string, onCommitted?: () => void): GuardedItem => ({
  item: { Put: { TableName: "t", Item: { PK: "p", SK: sk }, ConditionExpression: "attribute_not_exists(PK)" } },
  onConditionFailed: () => new Error(`${sk} is taken`),
  onCommitted,
});
const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({
    message: "cancelled",
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

it("tells every item once the transaction committed", async () => {
  ddbMock.on(TransactWriteCommand).resolves({});
  const a = vi.fn();
  const b = vi.fn();
  await transact([put("a", a), put("b", b)]);
  expect(a).toHaveBeenCalledTimes(1);
  expect(b).toHaveBeenCalledTimes(1);
});

it("tells nothing when a condition cancelled the transaction", async () => {
  ddbMock.on(TransactWriteCommand).rejects(cancelled("None", "ConditionalCheckFailed"));
  const a = vi.fn();
  await expect(transact([put("a", a), put("b")])).rejects.toThrow("b is taken");
  expect(a).not.toHaveBeenCalled();
});

it("tells once, after the attempt that committed, when a conflict was retried", async () => {
  ddbMock.on(TransactWriteCommand).rejectsOnce(cancelled("TransactionConflict", "None")).resolves({});
  const a = vi.fn(() => expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(2));
  await transact([put("a", a), put("b")]);
  expect(a).toHaveBeenCalledTimes(1);
});
