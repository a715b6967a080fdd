// Runs one TransactWriteItems and turns a cancelled condition into the domain error of the item that failed.
import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { TransactWriteCommand, type TransactWriteCommandInput } from "@aws-sdk/lib-dynamodb";
import { ConflictError } from "../http/errors.ts";
import { ddb } from "./client.ts";

export type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

/** A transaction item plus the error to raise when its condition is what cancelled the transaction. */
export interface GuardedItem {
  item: TransactItem;
  onConditionFailed?: () => Error;
}

/**
 * Writes all items atomically. When a condition fails, throws the `onConditionFailed` error of the first failing
 * item (or a generic 409). Retries a few times when DynamoDB cancels for a transaction conflict with another writer.
 */
export async function transact(items: GuardedItem[], token?: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await ddb.send(new TransactWriteCommand({ TransactItems: items.map((i) => i.item), ClientRequestToken: token }));
      return;
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw err;
      const reasons = err.CancellationReasons ?? [];
      const failed = reasons.findIndex((r) => r.Code === "ConditionalCheckFailed");
      if (failed >= 0) throw items[failed]?.onConditionFailed?.() ?? new ConflictError("the record changed meanwhile");
      const conflict = reasons.some((r) => r.Code === "TransactionConflict");
      if (conflict && attempt < 3) {
        await new Promise((r) => setTimeout(r, 20 * 2 ** attempt + Math.random() * 20));
        continue;
      }
      if (conflict) throw new ConflictError("another change to the same record is in progress; try again");
      throw err;
    }
  }
}
