// Counts the items DynamoDB write requests of this process put, update or delete (a transaction's condition checks
// excluded): the work a job really asks of the table, to compare per item with a raw BatchWriteItem ceiling.
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";

/** Items one write request writes. */
export function itemsWritten(command: string, input: Record<string, unknown>): number {
  if (command === "TransactWriteItemsCommand") {
    return (input.TransactItems as Record<string, unknown>[]).filter((t) => !t.ConditionCheck).length;
  }
  if (command === "BatchWriteItemCommand") {
    return Object.values(input.RequestItems as Record<string, unknown[]>).reduce((n, l) => n + l.length, 0);
  }
  return ["PutItemCommand", "UpdateItemCommand", "DeleteItemCommand"].includes(command) ? 1 : 0;
}

/** Adds a counter of written items to the client; `count` only while `on`. */
export function countWrites(client: DynamoDBClient): { on: boolean; items: number } {
  const counter = { on: false, items: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      if (counter.on) counter.items += itemsWritten(context.commandName ?? "", args.input as Record<string, unknown>);
      return out;
    },
    { step: "initialize", name: "benchWrittenItems" },
  );
  return counter;
}
