// The reminder-index backfill job ("reminder-index"): gives data written before the reminder indexes existed its
// index rows — a customer profile its activity row, an order its status row, a contact with a birthday its birthday
// row — and marks each customer it changed for re-planning, so the next tick checks it against every rule (rows
// below a rule's watermark would otherwise never be read). Resumable: the customer-list cursor is saved after every
// page; idempotent: every row is written only where none exists (conditionally), and each customer is counted once
// per job; a second job finds nothing missing and changes nothing.
import type { IdempotencyContext } from "../idempotency/idempotency.ts";
import type { Caller } from "../../auth/claims.ts";
import type { ShardCursor } from "../../db/sharded.ts";
import { transact } from "../../db/transact.ts";
import { env } from "../../config/env.ts";
import { birthdayIndex } from "../contacts/repository.ts";
import { activityIndex, listAll, readCollection } from "../customers/repository.ts";
import type { JobRunner, JobRun } from "../jobs/runner.ts";
import { type SendJobMessage, startJob } from "../jobs/service.ts";
import { orderKeys } from "../orders/keys.ts";
import { requireAdmin, resolveViewer } from "../org/viewer.ts";
import { setIndexIfMissing } from "./indexes.ts";
import { replanMarker } from "./repository.ts";
import { lastActivityOf } from "./tick.ts";

/** Customers read per page; the cursor is saved after each. */
export const BACKFILL_PAGE_SIZE = 25;
/** Customers of a page worked on at once. */
const LANES = 8;

/** Starts a backfill of the tenant's reminder indexes (admin only); 202 with the job's id. */
export async function startReminderBackfill(
  caller: Caller,
  requestId?: string,
  send?: SendJobMessage,
  idem?: IdempotencyContext,
): Promise<{ jobId: string }> {
  requireAdmin(await resolveViewer(caller));
  const job = await startJob(
    caller,
    { type: "reminder-index", params: {}, total: 0, counts: { indexed: 0, unchanged: 0 } },
    requestId,
    send,
    [],
    idem,
  );
  return { jobId: job.id };
}

/** The GSI3 row an item of a customer's collection should have, and what it was computed from; or none. */
export function missingIndexOf(
  tenant: string,
  item: Record<string, unknown>,
): { index: { GSI3PK: string; GSI3SK: string }; same: Record<string, unknown> } | undefined {
  if (item.GSI3PK) return undefined;
  if (item.entity === "customer" && !item.deletedAt) {
    const last = lastActivityOf(item);
    return last ? { index: activityIndex(tenant, String(item.id), last), same: { version: item.version } } : undefined;
  }
  if (item.entity === "order" && typeof item.status === "string") {
    const history = (item.history ?? []) as { at: string }[];
    const reached = history.at(-1)?.at ?? String(item.createdAt);
    const id = String(item.id);
    return {
      index: {
        GSI3PK: orderKeys.statusPk(tenant, item.status, orderKeys.shard(id, env.LIST_SHARDS)),
        GSI3SK: orderKeys.statusSk(reached, id),
      },
      same: { status: item.status },
    };
  }
  if (item.entity === "contact" && typeof item.birthday === "string") {
    const index = birthdayIndex(tenant, { id: String(item.id), birthday: item.birthday });
    return { index: index as { GSI3PK: string; GSI3SK: string }, same: { birthday: item.birthday } };
  }
  return undefined;
}

/** The jobs worker's runner for "reminder-index" jobs. */
export const runReminderBackfill: JobRunner = async (run) => {
  let cursor = run.job.cursor as ShardCursor | "done" | null | undefined;
  while (cursor !== "done") {
    const page = await listAll(run.tenant, [], BACKFILL_PAGE_SIZE, cursor ?? undefined, false);
    const queue = page.items.map((c) => c.id);
    const lane = async () => {
      for (let id = queue.shift(); id; id = queue.shift()) await backfillOne(run, id);
    };
    await Promise.all(Array.from({ length: LANES }, lane));
    cursor = (page.state as ShardCursor | undefined) ?? "done";
    await run.saveCursor(cursor);
    if (cursor !== "done" && run.timeIsShort()) return "paused";
  }
  return "done";
};

/** One customer: the missing rows of its collection, then its outcome (with a replan marker when rows were added). */
async function backfillOne(run: JobRun, customerId: string): Promise<void> {
  let rows = 0;
  for (const item of await readCollection(run.tenant, customerId)) {
    const missing = missingIndexOf(run.tenant, item);
    if (!missing) continue;
    const key = { PK: String(item.PK), SK: String(item.SK) };
    if (await setIndexIfMissing(key, missing.index, missing.same)) rows += 1;
  }
  const at = new Date().toISOString();
  await run.record({ kind: "reminder-index", itemId: customerId, counter: rows ? "indexed" : "unchanged" }, (extras) =>
    transact([...(rows ? [replanMarker(run.tenant, customerId, at)] : []), ...extras]),
  );
}
