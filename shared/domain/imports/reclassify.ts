// The import's post-chunk step: every customer a chunk updated (customers) or booked orders for (orders), and every
// customer it inserted that was not classified in its own insert transaction, is reclassified right away, as the API
// reclassifies after its writes, so category lists and distributions show an import as soon as its job ends. Runs
// before the chunk's checkpoint: a crash here repeats the chunk, whose writes find their import marks and name the
// same customers again, and reclassifying is itself idempotent.
import { reconcileMany } from "../classification/recompute.ts";
import type { ChunkContext, RowResult } from "./customer-import.ts";

/**
 * Reclassifies the customers of the chunk's inserted and updated rows (nothing for a dry run or contacts), but for
 * inserts already classified with themselves.
 */
export async function reclassifyWritten(ctx: ChunkContext, results: readonly RowResult[]): Promise<number> {
  if (ctx.dryRun || ctx.entity === "contacts") return 0;
  const ids = new Set<string>();
  for (const r of results) {
    if ((r.outcome === "inserted" || r.outcome === "updated") && r.customerId && !r.classified) ids.add(r.customerId);
  }
  // Unlike the API's `reclassify`, a failure is not swallowed: the chunk is repeated rather than left unclassified.
  // All of the chunk's customers at once: a consistent BatchGetItem per hundred and a few group transactions.
  await reconcileMany(ctx.tenant, [...ids]);
  return ids.size;
}
