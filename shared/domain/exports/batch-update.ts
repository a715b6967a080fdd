// Batch update: one patch (owner, level, stage, industry, tags) applied to every customer matching a filter within the
// caller's data scope, as a background job (jobs worker, type "batch-update"). Each customer changes in its own
// transaction with its audit entry and the job's outcome marker (so it counts once, whichever delivery handles it);
// the list cursor is stored after each page, so a resumed run continues where the last one stopped.
// adapter --> (use case) --> domain & repositories
import type { IdempotencyContext } from "../idempotency/idempotency.ts";
import * as z from "zod";
import type { Caller } from "../../auth/claims.ts";
import { ConflictError } from "../../http/errors.ts";
import { auditPut } from "../audit/audit.ts";
import { type CustomerItem, getCustomerItem, toCustomer, updateCustomer } from "../customers/repository.ts";
import { CustomerCreateSchema, type CustomerListQuery, PrincipalIdSchema, STAGES } from "../customers/schemas.ts";
import type { JobRunner } from "../jobs/runner.ts";
import { type SendJobMessage, startJob } from "../jobs/service.ts";
import { getUserRecord } from "../org/repository.ts";
import { canSee, requireWrite, resolveViewer } from "../org/viewer.ts";
import { searchTokens } from "../validation/index.ts";
import { ExportFilterSchema } from "../imports/schemas.ts";
import { saveState } from "../imports/repository.ts";
import { jobCaller } from "../imports/runner.ts";
import { customerPage } from "./runner.ts";

const fields = CustomerCreateSchema.shape;

export const BatchUpdateSchema = z.strictObject({
  filter: ExportFilterSchema.default({}),
  patch: z
    .strictObject({
      ownerId: PrincipalIdSchema.optional(),
      level: fields.level,
      stage: z.enum(STAGES).optional(),
      industry: fields.industry,
      tags: fields.tags,
    })
    .refine((p) => Object.values(p).some((v) => v !== undefined), "the patch changes nothing"),
});
export type BatchUpdate = z.output<typeof BatchUpdateSchema>;

const MAX_ATTEMPTS = 5;

/** Starts a batch update of the customers the caller may see and change; 202 with the job's id. */
export async function startBatchUpdate(
  caller: Caller,
  input: BatchUpdate,
  requestId?: string,
  send?: SendJobMessage,
  idem?: IdempotencyContext,
) {
  requireWrite(await resolveViewer(caller));
  const job = await startJob(
    caller,
    {
      type: "batch-update",
      params: { ...input, caller: { roles: caller.roles, ...(caller.dept ? { dept: caller.dept } : {}) } },
      total: 0,
      counts: { updated: 0, skipped: 0, failed: 0 },
    },
    requestId,
    send,
    [],
    idem,
  );
  return { jobId: job.id };
}

/** The jobs worker's runner for "batch-update" jobs. */
export const runBatchUpdate: JobRunner = async (run) => {
  const { filter, patch } = BatchUpdateSchema.parse({
    filter: (run.job.params as { filter?: unknown }).filter,
    patch: (run.job.params as { patch?: unknown }).patch,
  });
  const caller = jobCaller(run);
  const v = await resolveViewer(caller);
  const owner = patch.ownerId ? await getUserRecord(run.tenant, patch.ownerId) : undefined;
  let cursor = (run.job as { state?: { cursor?: unknown } }).state?.cursor;
  let first = true;
  for (;;) {
    if (!first && run.timeIsShort()) return "paused";
    first = false;
    const page = await customerPage(v, filter as CustomerListQuery, cursor ?? undefined);
    for (const item of page.items) {
      let current: CustomerItem | undefined = item;
      for (let attempt = 1; ; attempt++) {
        const before: CustomerItem | undefined = current;
        const ref = { kind: "customer", itemId: item.id };
        if (!before || before.deletedAt || !canSee(v, before)) {
          await run.record({ ...ref, counter: "skipped" });
          break;
        }
        const set: Record<string, unknown> = {};
        for (const [k, val] of Object.entries(patch)) {
          if (val !== undefined && JSON.stringify(val) !== JSON.stringify(before[k])) set[k] = val;
        }
        if (typeof set.ownerId === "string") {
          const dept = owner ? { deptId: owner.deptId, deptPath: owner.deptPath } : {};
          Object.assign(set, Object.fromEntries(Object.entries(dept).filter(([, x]) => x !== undefined)));
        }
        if (!Object.keys(set).length) {
          await run.record({ ...ref, counter: "skipped" });
          break;
        }
        if (attempt > MAX_ATTEMPTS) {
          await run.record({ ...ref, counter: "failed", error: "kept changing during the batch update; run it again" });
          break;
        }
        try {
          await run.record({ ...ref, counter: "updated" }, async (extras) => {
            const at = new Date().toISOString();
            Object.assign(set, { version: before.version + 1, updatedAt: at, updatedBy: caller.userId });
            const image = { ...toCustomer(before) } as Record<string, unknown>;
            const after = { ...image, ...set };
            await updateCustomer(
              run.tenant,
              before,
              { set, remove: [], tokens: searchTokens(before.name, before.code) },
              [
                auditPut(run.tenant, {
                  at,
                  actor: caller.userId,
                  action: "update",
                  entityType: "customer",
                  entityId: before.id,
                  before: image,
                  after,
                  requestId: run.job.id,
                }),
                ...extras,
              ],
            );
          });
          break;
        } catch (err) {
          if (!(err instanceof ConflictError)) throw err;
          current = await getCustomerItem(run.tenant, item.id);
        }
      }
    }
    cursor = page.state ?? null;
    await saveState(run.tenant, run.job.id, run.job.leaseOwner!, { cursor });
    await run.checkpoint();
    if (!page.state) return "done";
  }
};
