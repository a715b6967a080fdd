// Handover: an admin moves every customer of one user to another as a background job (jobs worker, type "handover").
// The job pages the from-user's owner index (GSI2); each customer moves in one transaction with its audit entry and
// the job's counters (fenced by the job's lease, counted once by a marker). Moved customers leave the index, so a
// resumed run simply queries from the top again.
// adapter --> (use case) --> domain & repositories
import type { IdempotencyContext } from "../idempotency/idempotency.ts";
import * as z from "zod";
import { reclassify } from "../classification/service.ts";
import type { Caller } from "../../auth/claims.ts";
import type { GuardedItem } from "../../db/transact.ts";
import { ConflictError, ValidationError } from "../../http/errors.ts";
import { auditPut } from "../audit/audit.ts";
import {
  countCustomersOf,
  type CustomerItem,
  getCustomerItem,
  listByOwner,
  toCustomer,
  updateCustomer,
} from "../customers/repository.ts";
import { PrincipalIdSchema } from "../customers/schemas.ts";
import type { JobRun, JobRunner } from "../jobs/runner.ts";
import { type SendJobMessage, startJob } from "../jobs/service.ts";
import { countOpenTasksOf, getTaskItem, queryByAssignee, replaceTask } from "../tasks/repository.ts";
import type { Task } from "../tasks/schemas.ts";
import { searchTokens } from "../validation/index.ts";
import { getUserRecord } from "./repository.ts";
import type { User } from "./schemas.ts";
import { requireAdmin, resolveViewer } from "./viewer.ts";

export const HandoverSchema = z.strictObject({ toUserId: PrincipalIdSchema });
export type Handover = z.infer<typeof HandoverSchema>;

/** What a handover job stores in its `params`. */
export const HandoverParamsSchema = z.object({ fromUserId: PrincipalIdSchema, toUserId: PrincipalIdSchema });

/** Customers read per owner-index page; progress is checkpointed after each. */
export const HANDOVER_PAGE_SIZE = 25;

/** Writes of one customer tried before it counts as failed (each conflict re-reads it first). */
const MAX_MOVE_ATTEMPTS = 5;

/**
 * Starts a handover of every customer of `fromUserId` to `input.toUserId`: admin only; 202 with the job's id. The
 * job's total is the from-user's customer count now (customers assigned later are moved too; the total then grows).
 */
export async function startHandover(
  caller: Caller,
  fromUserId: string,
  input: Handover,
  requestId?: string,
  send?: SendJobMessage,
  idem?: IdempotencyContext,
): Promise<{ jobId: string }> {
  requireAdmin(await resolveViewer(caller));
  if (input.toUserId === fromUserId) {
    throw new ValidationError("request body is invalid", [
      { path: "toUserId", message: "must be another user than the one handing over" },
    ]);
  }
  const total =
    (await countCustomersOf(caller.tenant, fromUserId)) + (await countOpenTasksOf(caller.tenant, fromUserId));
  const job = await startJob(
    caller,
    { type: "handover", params: { fromUserId, toUserId: input.toUserId }, total },
    requestId,
    send,
    [],
    idem,
  );
  return { jobId: job.id };
}

/** What the steps of one run share. */
interface HandoverContext {
  run: JobRun;
  fromUserId: string;
  toUserId: string;
  /** The to-user's record (its department), or undefined: customers then keep their department. */
  target: User | undefined;
  /** Items handled in this run: the first is always handled, so every run makes progress. */
  handled: number;
}

type Step = (ctx: HandoverContext) => Promise<"done" | "paused">;

/**
 * The handover's steps, in order. Each is resumable on its own (it finds its remaining work by querying an owner
 * index), so a resumed run starts again at the first step; a finished step costs one empty Query. Open tasks follow
 * the customers as a second step of kind "task" over their assignee index; their count is part of the job's total.
 */
const HANDOVER_STEPS: readonly Step[] = [moveCustomers, moveTasks];

/** The jobs worker's runner for "handover" jobs. */
export const runHandover: JobRunner = async (run) => {
  const params = HandoverParamsSchema.parse(run.job.params);
  const target = await getUserRecord(run.tenant, params.toUserId);
  const ctx: HandoverContext = { run, ...params, target, handled: 0 };
  for (const step of HANDOVER_STEPS) {
    if ((await step(ctx)) === "paused") return "paused";
  }
  return "done";
};

/**
 * Pages the from-user's owner index and moves each customer. A pass that reaches the end having changed something
 * starts again from the top (customers assigned to the from-user meanwhile, index rows that lagged); a pass that
 * changed nothing ends the step.
 */
async function moveCustomers(ctx: HandoverContext): Promise<"done" | "paused"> {
  const { run } = ctx;
  let start: Record<string, unknown> | undefined;
  let changed = false;
  for (;;) {
    const page = await listByOwner(run.tenant, ctx.fromUserId, [], HANDOVER_PAGE_SIZE, start);
    for (const item of page.items) {
      if (ctx.handled > 0 && run.timeIsShort()) return "paused";
      ctx.handled += 1;
      if ((await moveCustomer(ctx, item)) === "recorded") changed = true;
    }
    if (page.items.length) await run.checkpoint();
    if (page.state) {
      start = page.state as Record<string, unknown>;
      continue;
    }
    if (!changed) return "done";
    changed = false;
    start = undefined;
  }
}

/**
 * Moves one customer found on the from-user's index row `row` (which may lag the table). On a conflict (the customer
 * was edited meanwhile) it is read again: still the from-user's, the move is retried on the new version (so the edit
 * is kept); someone else's, deleted or gone, it is skipped. Each outcome is recorded once per job.
 */
async function moveCustomer(ctx: HandoverContext, row: CustomerItem): Promise<"recorded" | "already"> {
  const { run } = ctx;
  const ref = { kind: "customer", itemId: row.id };
  let current: CustomerItem | undefined = row;
  for (let attempt = 1; ; attempt++) {
    const before: CustomerItem | undefined = current;
    if (!before || before.deletedAt || before.ownerId !== ctx.fromUserId) {
      return run.record({ ...ref, counter: "skipped" });
    }
    if (attempt > MAX_MOVE_ATTEMPTS) {
      return run.record({
        ...ref,
        counter: "failed",
        error: `kept changing during the handover (${MAX_MOVE_ATTEMPTS} attempts); hand it over again`,
      });
    }
    try {
      return await run.record({ ...ref, counter: "moved" }, (extras) => writeMove(ctx, before, extras));
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      current = await getCustomerItem(run.tenant, row.id);
    }
  }
}

/** The move itself: owner and department to the to-user's, version + 1, and its audit entry, in one transaction. */
async function writeMove(ctx: HandoverContext, before: CustomerItem, extras: GuardedItem[]): Promise<void> {
  const { run, target } = ctx;
  const at = new Date().toISOString();
  const by = run.job.createdBy;
  const set: Record<string, unknown> = {
    ownerId: ctx.toUserId,
    ...(target?.deptPath ? { deptId: target.deptId, deptPath: target.deptPath } : {}),
    version: before.version + 1,
    updatedAt: at,
    updatedBy: by,
  };
  const beforeImage = { ...toCustomer(before) } as Record<string, unknown>;
  const after = { ...beforeImage, ...set };
  await updateCustomer(run.tenant, before, { set, remove: [], tokens: searchTokens(before.name, before.code) }, [
    auditPut(run.tenant, {
      at,
      actor: by,
      action: "update",
      entityType: "customer",
      entityId: before.id,
      before: beforeImage,
      after,
      requestId: run.job.id,
    }),
    ...extras,
  ]);
  // The customer's classification cells and membership follow its new owner and department.
  await reclassify(run.tenant, before.id);
}

/**
 * Pages the from-user's open tasks (assignee index) and reassigns each to the to-user, like customers: moved tasks
 * leave the index, so a pass that changed something starts again from the top and a pass that changed nothing ends.
 */
async function moveTasks(ctx: HandoverContext): Promise<"done" | "paused"> {
  const { run } = ctx;
  let start: Record<string, unknown> | undefined;
  let changed = false;
  for (;;) {
    const page = await queryByAssignee(run.tenant, ctx.fromUserId, "open", {}, HANDOVER_PAGE_SIZE, start);
    for (const task of page.items) {
      if (ctx.handled > 0 && run.timeIsShort()) return "paused";
      ctx.handled += 1;
      if ((await moveTask(ctx, task)) === "recorded") changed = true;
    }
    if (page.items.length) await run.checkpoint();
    if (page.state) {
      start = page.state;
      continue;
    }
    if (!changed) return "done";
    changed = false;
    start = undefined;
  }
}

/** Reassigns one open task (re-read on a conflict; skipped once it is no longer the from-user's open task). */
async function moveTask(ctx: HandoverContext, row: Task): Promise<"recorded" | "already"> {
  const { run } = ctx;
  const ref = { kind: "task", itemId: row.id };
  let current: Task | undefined = row;
  for (let attempt = 1; ; attempt++) {
    const before: Task | undefined = current;
    if (!before || before.status !== "open" || before.assigneeId !== ctx.fromUserId) {
      return run.record({ ...ref, counter: "skipped" });
    }
    if (attempt > MAX_MOVE_ATTEMPTS) {
      return run.record({ ...ref, counter: "failed", error: `kept changing during the handover; hand it over again` });
    }
    try {
      return await run.record({ ...ref, counter: "moved" }, async (extras) => {
        const at = new Date().toISOString();
        const by = run.job.createdBy;
        const after: Task = {
          ...before,
          assigneeId: ctx.toUserId,
          version: before.version + 1,
          updatedAt: at,
          updatedBy: by,
        };
        await replaceTask(run.tenant, before, after, [
          auditPut(run.tenant, {
            at,
            actor: by,
            action: "update",
            entityType: "task",
            entityId: before.id,
            parentId: before.customerId,
            before: { ...before },
            after: { ...after },
            requestId: run.job.id,
          }),
          ...extras,
        ]);
      });
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      current = await getTaskItem(run.tenant, row.customerId, row.id);
    }
  }
}

export { countCustomersOf };
