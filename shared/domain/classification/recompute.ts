// The bulk recompute job ("classify", started by apply): pages through the tenant's customers and reconciles each
// one (all active schemes, value score, cells, membership, history), and turns customers dormant whose categories'
// dormancy threshold has passed.
// - A page is the next ids of one list shard (the index read for ids only, shards one after the other: no merge);
//   its profiles are read strongly consistent (BatchGetItem, a hundred keys each, four at once); the customers that
//   changed are written in groups, each group one transaction (every profile conditional on the snapshot its plan was
//   made from, the cells' moves summed), so a page costs a few requests instead of several per customer. The next
//   page is read while a page is written.
// - Resumable: the cursor is saved after every page, with the page's counts in the same write, so a page repeated
//   after a crash counts once. Idempotent: a repeated page finds its customers up to date (a bulk write stamps the job
//   on the snapshot, so they still count as changed) and writes nothing.
// - A concurrent edit is never overwritten: when a group's transaction finds a snapshot moved on, its customers are
//   reconciled one by one from a fresh read.
import { env } from "../../config/env.ts";
import type { ShardCursor } from "../../db/sharded.ts";
import { auditPut } from "../audit/audit.ts";
import {
  batchGetProfiles,
  type CustomerItem,
  pageLiveIds,
  toCustomer,
  updateCustomer,
} from "../customers/repository.ts";
import type { JobRun, JobRunner } from "../jobs/runner.ts";
import { type ClassSnapshot, dueForDormancy, planReconcile } from "./engine.ts";
import {
  type ClassConfig,
  type GroupEntry,
  groupReconciles,
  StaleSnapshotError,
  writeReconcileGroup,
} from "./repository.ts";
import { configOf, reconcileCustomer } from "./service.ts";
import { classificationReplan, RulesChangedError } from "../reminders/repository.ts";

/** Group transactions of a page written at once. */
const GROUP_LANES = 2;

export const runClassify: JobRunner = async (run) => {
  const config = await configOf(run.tenant, true);
  const start = run.job.cursor as ShardCursor | "done" | null | undefined;
  let next = start === "done" ? undefined : readPage(run.tenant, start ?? undefined);
  while (next) {
    const page = await next;
    const cursor = page.state ?? "done";
    // The next page is read while this one is written: pages never share a customer, and each profile is still
    // written only if its snapshot is the one read.
    next = cursor === "done" ? undefined : readPage(run.tenant, cursor);
    next?.catch(() => undefined); // a failure is thrown where the page is awaited, not as an unhandled rejection
    const counts = await classifyPage(run, config, page.ids, page.profiles);
    await run.saveCursor(cursor, counts);
    if (cursor !== "done" && run.timeIsShort()) return "paused";
  }
  return "done";
};

/** The next page of ids and their profiles, read strongly consistent. */
async function readPage(
  tenant: string,
  cursor: ShardCursor | undefined,
): Promise<{ ids: string[]; profiles: Map<string, CustomerItem>; state?: ShardCursor }> {
  const page = await pageLiveIds(tenant, env.CLASSIFY_PAGE_SIZE, cursor);
  return { ...page, profiles: await batchGetProfiles(tenant, page.ids, true) };
}

/** Reconciles one page of customers; resolves the page's counts (`changed`, `unchanged`) for the cursor's write. */
async function classifyPage(
  run: JobRun,
  config: ClassConfig,
  ids: string[],
  profiles: Map<string, CustomerItem>,
): Promise<Record<string, number>> {
  const now = Date.now();
  const counts = { changed: 0, unchanged: 0 };
  const rest: CustomerItem[] = [];
  for (const id of ids) {
    const item = profiles.get(id);
    if (item && !item.deletedAt && dueForDormancy(item, config.schemes, now)) {
      const outcome = await makeDormant(run, config, item, now); // rare: usually counted by its own outcome marker
      if (outcome) counts[outcome]++;
    } else if (item) rest.push(item);
    else counts.unchanged++;
  }
  const more = await reconcileProfiles(run.tenant, config, rest, { now, job: run.job.id });
  return { changed: counts.changed + more.changed, unchanged: counts.unchanged + more.unchanged };
}

/**
 * Reconciles many customers at once, as {@link reconcileCustomer} does one: their profiles read with one strongly
 * consistent BatchGetItem per hundred, the changed ones written in group transactions (each profile conditional on
 * the snapshot its plan was made from, the cells' moves summed). A group whose snapshot moved on (a concurrent edit)
 * falls back to one customer at a time from a fresh read. The import's reclassification after each chunk.
 */
export async function reconcileMany(
  tenant: string,
  ids: string[],
  opts: { job?: string; config?: ClassConfig } = {},
): Promise<{ changed: number; unchanged: number }> {
  const config = opts.config ?? (await configOf(tenant, true));
  const profiles = await batchGetProfiles(tenant, [...new Set(ids)], true);
  const out = await reconcileProfiles(tenant, config, [...profiles.values()], { now: Date.now(), job: opts.job });
  return { changed: out.changed, unchanged: out.unchanged + (new Set(ids).size - profiles.size) };
}

/** Plans the profiles (read consistently just before) and writes the changed ones in groups; resolves the counts. */
async function reconcileProfiles(
  tenant: string,
  config: ClassConfig,
  items: CustomerItem[],
  opts: { now: number; job?: string },
): Promise<{ changed: number; unchanged: number }> {
  const counts = { changed: 0, unchanged: 0 };
  const at = new Date(opts.now).toISOString();
  const planned: GroupEntry[] = [];
  for (const item of items) {
    if (item.deletedAt) {
      counts.unchanged++;
      continue;
    }
    const plan = planReconcile(item, config.schemes, config.model, opts.now);
    if (plan) {
      if (opts.job !== undefined) plan.snapshot.job = opts.job;
      planned.push({ customerId: item.id, plan });
    } else if (opts.job !== undefined && (item.cls as ClassSnapshot | undefined)?.job === opts.job) counts.changed++;
    else counts.unchanged++;
  }
  const groups = groupReconciles(tenant, planned, at);
  // Re-plan markers only when a reminder rule selects by category; when the rules change before a group is written,
  // the group's check fails and it is written again with markers (groups are sized for them).
  let replan = groups.length ? await classificationReplan(tenant) : { markers: true };
  const lane = async () => {
    for (let group = groups.shift(); group; group = groups.shift()) {
      try {
        try {
          await writeReconcileGroup(tenant, group, at, replan);
        } catch (err) {
          if (!(err instanceof RulesChangedError)) throw err;
          replan = { markers: true };
          await writeReconcileGroup(tenant, group, at, replan);
        }
        counts.changed += group.length;
      } catch (err) {
        // A snapshot moved on (a concurrent edit) or the group kept conflicting: one by one, each from a fresh read.
        if (!(err instanceof StaleSnapshotError) && (err as { status?: number }).status !== 409) throw err;
        for (const e of group) {
          const outcome = await reconcileCustomer(tenant, e.customerId, { config, now: opts.now, job: opts.job });
          counts[outcome === "changed" ? "changed" : "unchanged"]++;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: GROUP_LANES }, lane));
  return counts;
}

/**
 * Moves a customer to `dormant` (audited) and reconciles it; the outcome marker counts it once per job. When the
 * customer was edited meanwhile it is only reconciled (the next run looks at its stage again), and the outcome of that
 * is returned for the page to count.
 */
async function makeDormant(
  run: JobRun,
  config: ClassConfig,
  item: CustomerItem,
  now: number,
): Promise<"changed" | "unchanged" | undefined> {
  const at = new Date(now).toISOString();
  const set = { stage: "dormant", version: item.version + 1, updatedAt: at, updatedBy: "system" };
  try {
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
    if (outcome === "recorded") await reconcileCustomer(run.tenant, item.id, { config, now, job: run.job.id });
    return undefined;
  } catch (err) {
    // Edited meanwhile (its version moved on): the next run of the job (or the nightly one) looks at it again.
    if ((err as { status?: number }).status !== 409) throw err;
    const outcome = await reconcileCustomer(run.tenant, item.id, { config, now, job: run.job.id });
    return outcome === "changed" ? "changed" : "unchanged";
  }
}
