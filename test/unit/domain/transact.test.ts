// Unit tests for transact: one TransactWriteItems, cancellation reasons mapped to the failing item's error, conflict retries.
import { DynamoDBDocumentClient, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { type GuardedItem, transact } from "../../../shared/db/transact.ts";
import { ConflictError, NotFoundError } from "../../../shared/http/errors.ts";
import { transactionCancelled } from "./support/builders.ts";

const ddbMock = mockClient(DynamoDBDocumentClient);

class CodeTaken extends Error {}

function aPut(pk: string, onConditionFailed?: () => Error): GuardedItem {
  return {
    item: {
      Put: { TableName: "unit-table", Item: { PK: pk, SK: "X" }, ConditionExpression: "attribute_not_exists(PK)" },
    },
    ...(onConditionFailed ? { onConditionFailed } : {}),
  };
}

beforeEach(() => {
  ddbMock.reset();
});

describe("transact", () => {
  it("writes every item in one transaction, in order, with the request token", async () => {
    // Prepare
    ddbMock.on(TransactWriteCommand).resolves({});
    const items = [aPut("A"), aPut("B"), aPut("C")];

    // Act
    await transact(items, "token-1");

    // Assess
    const calls = ddbMock.commandCalls(TransactWriteCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input.TransactItems).toEqual(items.map((i) => i.item));
    expect(calls[0]!.args[0].input.ClientRequestToken).toBe("token-1");
  });

  it("throws the error of the item whose condition failed", async () => {
    // Prepare
    ddbMock.on(TransactWriteCommand).rejects(transactionCancelled(["None", "ConditionalCheckFailed", "None"]));
    const items = [aPut("A", () => new NotFoundError("A")), aPut("B", () => new CodeTaken("B")), aPut("C")];

    // Act / Assess
    await expect(transact(items)).rejects.toBeInstanceOf(CodeTaken);
  });

  it("throws the first failing item's error when several conditions failed", async () => {
    // Prepare
    ddbMock
      .on(TransactWriteCommand)
      .rejects(transactionCancelled(["None", "ConditionalCheckFailed", "ConditionalCheckFailed"]));
    const items = [aPut("A"), aPut("B", () => new CodeTaken("B")), aPut("C", () => new NotFoundError("C"))];

    // Act / Assess
    await expect(transact(items)).rejects.toBeInstanceOf(CodeTaken);
  });

  it("throws a 409 when the failing item names no error of its own", async () => {
    // Prepare
    ddbMock.on(TransactWriteCommand).rejects(transactionCancelled(["ConditionalCheckFailed"]));

    // Act
    const err = await transact([aPut("A")]).catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).status).toBe(409);
  });

  it("retries when another writer's transaction conflicted, and succeeds", async () => {
    // Prepare
    ddbMock
      .on(TransactWriteCommand)
      .rejectsOnce(transactionCancelled(["TransactionConflict", "None"]))
      .resolves({});

    // Act
    await transact([aPut("A"), aPut("B")]);

    // Assess
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(2);
  });

  it("gives up with a 409 after a few conflicting attempts", async () => {
    // Prepare
    ddbMock.on(TransactWriteCommand).rejects(transactionCancelled(["TransactionConflict"]));

    // Act
    const err = await transact([aPut("A")]).catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(ConflictError);
    const attempts = ddbMock.commandCalls(TransactWriteCommand).length;
    expect(attempts).toBeGreaterThan(1);
    expect(attempts).toBeLessThanOrEqual(5);
  });

  it("passes on a cancellation for another reason without retrying", async () => {
    // Prepare
    const throttled = transactionCancelled(["ThrottlingError"]);
    ddbMock.on(TransactWriteCommand).rejects(throttled);

    // Act / Assess
    await expect(transact([aPut("A")])).rejects.toBe(throttled);
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });

  it("passes on any other failure unchanged", async () => {
    // Prepare
    const failure = new Error("socket hang up");
    ddbMock.on(TransactWriteCommand).rejects(failure);

    // Act / Assess
    await expect(transact([aPut("A")])).rejects.toBe(failure);
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });
});
