// BatchWriteItem for items that need no condition (search-index items, re-puts of items a job already owns): 25 per
// request, a bounded number of requests in flight, UnprocessedItems sent again with jittered exponential back-off.
import { BatchWriteCommand, type BatchWriteCommandOutput } from "@aws-sdk/lib-dynamodb";
import { env } from "../config/env.ts";
import { ddb } from "./client.ts";
import { pool } from "./pool.ts";

/** DynamoDB's limit on the requests of one BatchWriteItem. */
export const MAX_BATCH_WRITE = 25;
/** Attempts of one request before giving up on items DynamoDB keeps returning unprocessed. */
export const MAX_BATCH_ATTEMPTS = 10;

export type WriteRequest =
  { PutRequest: { Item: Record<string, unknown> } } | { DeleteRequest: { Key: Record<string, unknown> } };

/** Raised when some items were still unprocessed after every attempt (the caller's work is then retried whole). */
export class UnprocessedItemsError extends Error {
  override readonly name = "UnprocessedItemsError";
}

/** Full jitter over 25 ms * 2^attempt, capped at 2 s. */
const backOff = (attempt: number) =>
  new Promise((r) => setTimeout(r, Math.random() * Math.min(2000, 25 * 2 ** attempt)));

/**
 * Writes every request (puts and deletes without conditions, so writing one twice is harmless), `concurrency`
 * BatchWriteItem calls at a time. Items DynamoDB returns as unprocessed are sent again after a back-off.
 */
export async function batchWriteAll(requests: readonly WriteRequest[], concurrency = 4): Promise<void> {
  const table = env.TABLE_NAME;
  const batches: WriteRequest[][] = [];
  for (let i = 0; i < requests.length; i += MAX_BATCH_WRITE) batches.push(requests.slice(i, i + MAX_BATCH_WRITE));
  await pool(batches, concurrency, async (batch) => {
    let pending = batch;
    for (let attempt = 0; pending.length; attempt++) {
      if (attempt >= MAX_BATCH_ATTEMPTS) {
        throw new UnprocessedItemsError(`${pending.length} items stayed unprocessed after ${attempt} attempts`);
      }
      if (attempt > 0) await backOff(attempt);
      const res: BatchWriteCommandOutput = await ddb.send(
        new BatchWriteCommand({ RequestItems: { [table]: pending as never } }),
      );
      pending = (res.UnprocessedItems?.[table] ?? []) as WriteRequest[];
    }
  });
}
