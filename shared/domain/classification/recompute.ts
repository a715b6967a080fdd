// The bulk recompute job ("classify", started by apply): pages through the tenant's customers and reconciles each
// one (all active schemes, value score, cells, membership, history), and turns customers dormant whose categories'
// dormancy threshold has passed. Resumable: the page cursor is saved after every page; idempotent: each customer is
// counted once per job (outcome marker in its own transaction) and a reconcile of an up-to-date customer writes
// nothing but the marker. Writes are conditional on the classification snapshot read, so a concurrent edit is never
// overwritten: the job re-reads and re-plans instead.
import type { ShardCursor } from "../../db/sharded.ts";
import { transact } from "../../db/transact.ts";
import { auditPut } from "../audit/audit.ts";
import { listAll, toCustomer, updateCustomer } from "../customers/repository.ts";
import type { JobRunner } from "../jobs/runner.ts";
import { dueForDormancy, planReconcile } from "./engine.ts";
import { readProfile, StaleSnapshotError, writeReconcile } from "./repository.ts";
import { configOf, reconcileCustomer } from "./service.ts";

/** Customers read per page; the cursor is saved after each. */
export const CLASSIFY_PAGE_SIZE = 25;
/** Customers of a page reconciled at once. */
const CLASSIFY_LANES = 8;
const MAX_ATTEMPTS = 8;

export const runClassify: JobRunner = async (run) => {
  const config = await configOf(run.tenant, true);
  let cursor = run.job.cursor as ShardCursor | "done" | null | undefined;
  while (cursor !== "done") {
    const page = await listAll(run.tenant, [], CLASSIFY_PAGE_SIZE, cursor ?? undefined, false);
    // Customers are independent: a page is worked on by a few concurrent lanes.
    const queue = [...page.items];
    const lane = async () => {
      for (let listed = queue.shift(); listed; listed = queue.shift()) {
        await classifyOne(listed.id);
      }
    };
    await Promise.all(Array.from({ length: CLASSIFY_LANES }, lane));
    cursor = (page.state as ShardCursor | undefined) ?? "done";
    await run.saveCursor(cursor);
    if (cursor !== "done" && run.timeIsShort()) return "paused";
  }
  return "done";

  async function classifyOne(customerId: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const now = Date.now();
      const item = await readProfile(run.tenant, customerId);
      if (!item || item.deletedAt) {
        await run.record({ kind: "classify", itemId: customerId, counter: "unchanged" });
        return;
      }
      try {
        if (dueForDormancy(item, config.schemes, now)) {
          const at = new Date(now).toISOString();
          const set = { stage: "dormant", version: item.version + 1, updatedAt: at, updatedBy: "system" };
          const outcome = await run.record({ kind: "classify", itemId: item.id, counter: "dormant" }, (extras) =>
            updateCustomer(run.tenant, item, { set, remove: [], tokens: item.searchTokens ?? [] }, [
              auditPut(run.tenant, {
                at,
                actor: "system",
                action: "update",
                entityType: "customer",
                entityId: item.id,
                before: { ...toCustomer(item) },
                after: { ...toCustomer(item), ...set },
                requestId: `job:${run.job.id}`,
              }),
              ...extras,
            ]),
          );
          if (outcome === "recorded") await reconcileCustomer(run.tenant, item.id, { config, now });
          return;
        }
        const plan = planReconcile(item, config.schemes, config.model, now);
        await run.record({ kind: "classify", itemId: item.id, counter: plan ? "changed" : "unchanged" }, (extras) =>
          plan ? writeReconcile(run.tenant, item.id, plan, new Date(now).toISOString(), extras) : transact(extras),
        );
        break;
      } catch (err) {
        const retry = err instanceof StaleSnapshotError || (err as { status?: number }).status === 409;
        if (!retry || attempt >= MAX_ATTEMPTS) throw err;
      }
    }
  }
};
