// Meters the DynamoDB requests of this process: the items write requests put, update or delete (a transaction's
// condition checks excluded), the work a job really asks of the table, to compare per item with a raw BatchWriteItem
// ceiling; and each request's consumed capacity and time.
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

const READS = new Set([
  "GetItemCommand",
  "QueryCommand",
  "ScanCommand",
  "BatchGetItemCommand",
  "TransactGetItemsCommand",
]);

/** One request made while the meter was on: its command, input, the capacity DynamoDB reported, and its time. */
export interface MeteredRequest {
  command: string;
  input: Record<string, unknown>;
  /** Capacity units consumed (ReturnConsumedCapacity TOTAL, summed over tables). */
  units: number;
  /** A read request (Get, Query, Scan, BatchGet, TransactGet), whose units are read units. */
  read: boolean;
  ms: number;
}

/** Adds a meter to the client: while `isOn()`, each request asks for its consumed capacity and is reported. */
export function meterRequests(
  client: DynamoDBClient,
  isOn: () => boolean,
  report: (request: MeteredRequest) => void,
): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      const on = isOn();
      if (on) input.ReturnConsumedCapacity = "TOTAL";
      const started = performance.now();
      const out = await next(args);
      if (on) {
        const command = context.commandName ?? "?";
        const cc = (out.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
        let units = 0;
        for (const c of Array.isArray(cc) ? cc : cc ? [cc] : [])
          units += (c as { CapacityUnits?: number }).CapacityUnits ?? 0;
        report({ command, input, units, read: READS.has(command), ms: performance.now() - started });
      }
      return out;
    },
    { step: "initialize", name: "benchMeter" },
  );
}
