// Handover jobs against DynamoDB Local: the jobs worker handler called directly with hand-made SQS events and a fake
// Lambda context; interrupted runs (time running low, a crash, a dead lease holder) resumed by the continuation or the
// same message again; concurrent deliveries; customers edited or reassigned while the job runs.
import { describe, expect, it, vi } from "vitest";
import { jobsWorker } from "../../functions/workers/jobs-worker.ts";
import type { Caller } from "../../shared/auth/claims.ts";
import { queryAudit } from "../../shared/domain/audit/audit.ts";
import { getCustomerItem, listByOwner } from "../../shared/domain/customers/repository.ts";
import { CustomerCreateSchema, CustomerPatchSchema } from "../../shared/domain/customers/schemas.ts";
import { createCustomer, patchCustomer } from "../../shared/domain/customers/service.ts";
import { acquireLease, getJobItem } from "../../shared/domain/jobs/repository.ts";
import type { JobMessage } from "../../shared/domain/jobs/schemas.ts";
import { TIME_RESERVE_MS } from "../../shared/domain/jobs/progress.ts";
import { countCustomersOf, startHandover } from "../../shared/domain/org/handover.ts";
import { createDepartment, putUser } from "../../shared/domain/org/service.ts";
import { aCaller, aCustomerInput } from "../support/builders.ts";
import { fakeContext, PLENTY, sqsEvent } from "../support/job-events.ts";

/** Lets a test act in the window between the worker reading a customer and writing its move. */
const hooks = vi.hoisted(() => ({
  beforeUpdate: undefined as undefined | ((before: { id: string }, set: Record<string, unknown>) => Promise<void>),
}));

vi.mock("../../shared/domain/customers/repository.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../shared/domain/customers/repository.ts")>();
  return {
    ...real,
    updateCustomer: async (...args: Parameters<typeof real.updateCustomer>) => {
      await hooks.beforeUpdate?.(args[1], args[2].set);
      return real.updateCustomer(...args);
    },
  };
});

const A = "u-alice";
const B = "u-bob";
const C = "u-carol";

/** The worker with continuations captured instead of sent, and the first message of a new handover. */
async function setUp(count: number, opts: { admin?: Caller } = {}) {
  const admin = opts.admin ?? aCaller();
  const ids: string[] = [];
  for (let i = 0; i < count; i += 5) {
    const batch = Array.from({ length: Math.min(5, count - i) }, (_, k) =>
      createCustomer(
        admin,
        CustomerCreateSchema.parse(aCustomerInput({ name: `交接客户${i + k}`, code: `H-${i + k}`, ownerId: A })),
        undefined,
      ),
    );
    for (const r of await Promise.all(batch)) ids.push((r.body as { id: string }).id);
  }
  const sent: JobMessage[] = [];
  const { jobId } = await startHandover(admin, A, { toUserId: B }, "req-handover", async (m) => void sent.push(m));
  expect(sent).toEqual([{ jobId, tenant: admin.tenant }]);
  const continuations: JobMessage[] = [];
  const handler = jobsWorker({ continueJob: async (m) => void continuations.push(m) });
  return { admin, ids, jobId, first: sent[0]!, continuations, handler };
}

/** Every audit entry the job wrote for a customer. */
async function jobEntries(tenant: string, customerId: string, jobId: string) {
  const { items } = await queryAudit(tenant, { entityId: customerId, limit: 100 });
  return items.filter((e) => e.requestId === jobId);
}

/** Owners of all the given customers after the job; each must be B and carry exactly one audit entry of the job. */
async function expectAllMovedOnce(tenant: string, ids: string[], jobId: string) {
  for (const id of ids) {
    const c = await getCustomerItem(tenant, id);
    expect(c?.ownerId, id).toBe(B);
    const entries = await jobEntries(tenant, id, jobId);
    expect(entries, id).toHaveLength(1);
    expect(entries[0]).toMatchObject({ action: "update", actor: "u-admin", entityType: "customer" });
    expect(entries[0]!.changes).toContain("ownerId");
    expect(entries[0]!.before).toMatchObject({ ownerId: A });
    expect(entries[0]!.after).toMatchObject({ ownerId: B, version: (entries[0]!.before!.version as number) + 1 });
  }
  expect(await countCustomersOf(tenant, A)).toBe(0);
  expect(await countCustomersOf(tenant, B)).toBe(ids.length);
}

describe("handover job", () => {
  it("moves all 40 customers of A to B with B's department, one audit entry each, and succeeds", async () => {
    const admin = aCaller();
    await createDepartment(admin, { id: "east", name: "华东" });
    await putUser(admin, B, { roles: ["sales"], deptId: "east" }, 0);
    const { ids, jobId, first, continuations, handler } = await setUp(40, { admin });
    const queued = await getJobItem(admin.tenant, jobId);
    expect(queued).toMatchObject({ status: "queued", total: 40, processed: 0, percent: 0, createdBy: "u-admin" });

    expect(await handler(sqsEvent(first), fakeContext())).toEqual({ batchItemFailures: [] });

    expect(continuations).toEqual([]);
    const job = await getJobItem(admin.tenant, jobId);
    expect(job).toMatchObject({
      status: "succeeded",
      processed: 40,
      total: 40,
      percent: 100,
      counts: { moved: 40, skipped: 0, failed: 0 },
      errors: [],
      params: { fromUserId: A, toUserId: B },
    });
    expect(job?.leaseOwner).toBeUndefined();
    await expectAllMovedOnce(admin.tenant, ids, jobId);
    const moved = await getCustomerItem(admin.tenant, ids[0]!);
    expect(moved).toMatchObject({ deptId: "east", deptPath: "/east/", updatedBy: "u-admin", version: 2 });

    // The same message again, late: the job has finished, nothing changes.
    expect(await handler(sqsEvent(first), fakeContext())).toEqual({ batchItemFailures: [] });
    expect((await getJobItem(admin.tenant, jobId))?.version).toBe(job?.version);
  }, 60_000);

  it("stops when the time runs low, continues from the continuation message, and keeps an edit made in between", async () => {
    const { admin, ids, jobId, first, continuations, handler } = await setUp(40);
    // Plenty of time for the lease and about ten customers, then less than the reserve.
    const shortLived = fakeContext((n) => (n <= 11 ? PLENTY : TIME_RESERVE_MS - 1));

    expect(await handler(sqsEvent(first), shortLived)).toEqual({ batchItemFailures: [] });

    expect(continuations).toEqual([{ jobId, tenant: admin.tenant }]);
    const paused = (await getJobItem(admin.tenant, jobId))!;
    expect(paused.status).toBe("running");
    expect(paused.leaseOwner).toBeUndefined();
    expect(paused.processed).toBeGreaterThan(0);
    expect(paused.processed).toBeLessThan(40);
    expect(paused.counts.moved).toBe(paused.processed);
    expect(paused.percent).toBe(Math.floor((paused.processed * 100) / 40));
    expect(await countCustomersOf(admin.tenant, B)).toBe(paused.processed);

    // Between two chunks someone edits a customer A still owns.
    const { items: left } = await listByOwner(admin.tenant, A, [], 1, undefined);
    const edited = left[0]!;
    await patchCustomer(admin, edited.id, CustomerPatchSchema.parse({ level: "VIP" }), edited.version);

    expect(await handler(sqsEvent(continuations[0]!), fakeContext())).toEqual({ batchItemFailures: [] });

    expect(await getJobItem(admin.tenant, jobId)).toMatchObject({
      status: "succeeded",
      processed: 40,
      total: 40,
      percent: 100,
      counts: { moved: 40, skipped: 0, failed: 0 },
    });
    expect(continuations).toHaveLength(1);
    await expectAllMovedOnce(admin.tenant, ids, jobId);
    expect(await getCustomerItem(admin.tenant, edited.id)).toMatchObject({ level: "VIP", ownerId: B, version: 3 });
  }, 60_000);

  it("resumes after a crash when the same message is delivered again", async () => {
    const { admin, ids, jobId, first, continuations, handler } = await setUp(40);
    const crashing = fakeContext((n) => {
      if (n > 12) throw new Error("simulated crash");
      return PLENTY;
    });
    const message = sqsEvent(first, 1, "crash-1");

    expect(await handler(message, crashing)).toEqual({ batchItemFailures: [{ itemIdentifier: "crash-1" }] });

    const crashed = (await getJobItem(admin.tenant, jobId))!;
    expect(crashed.status).toBe("running");
    expect(crashed.processed).toBeGreaterThan(0);
    expect(crashed.processed).toBeLessThan(40);
    expect(crashed.leaseOwner).toBeUndefined(); // a thrown error gives the lease up for the retry

    expect(await handler(sqsEvent(first, 2, "crash-1"), fakeContext())).toEqual({ batchItemFailures: [] });

    expect(continuations).toEqual([]);
    expect(await getJobItem(admin.tenant, jobId)).toMatchObject({
      status: "succeeded",
      processed: 40,
      total: 40,
      counts: { moved: 40, skipped: 0, failed: 0 },
    });
    await expectAllMovedOnce(admin.tenant, ids, jobId);
  }, 60_000);

  it("leaves a job alone while another invocation's lease holds, and takes it over once that lease expired", async () => {
    const { admin, ids, jobId, first, handler } = await setUp(6);
    const now = Date.now();
    expect(await acquireLease(admin.tenant, jobId, "someone-else", now + 60_000, new Date(now))).toBeDefined();

    expect(await handler(sqsEvent(first), fakeContext())).toEqual({ batchItemFailures: [] });
    expect(await getJobItem(admin.tenant, jobId)).toMatchObject({ processed: 0, leaseOwner: "someone-else" });
    expect(await countCustomersOf(admin.tenant, A)).toBe(6);

    // Two minutes on, that holder has gone; another one took the lease and died without giving it up (a Lambda
    // timeout): its lease has run out too.
    const later = Date.now();
    expect(await acquireLease(admin.tenant, jobId, "dead-holder", later - 1, new Date(later + 120_000))).toBeDefined();
    const job = (await getJobItem(admin.tenant, jobId))!;
    expect(job.leaseUntil).toBeLessThan(Date.now());

    expect(await handler(sqsEvent(first, 2), fakeContext())).toEqual({ batchItemFailures: [] });
    expect(await getJobItem(admin.tenant, jobId)).toMatchObject({ status: "succeeded", processed: 6 });
    await expectAllMovedOnce(admin.tenant, ids, jobId);
  }, 60_000);

  it("counts once when two deliveries of the same message run at the same time", async () => {
    const { admin, ids, jobId, first, continuations, handler } = await setUp(20);

    const results = await Promise.all([
      handler(sqsEvent(first, 1, "dup-a"), fakeContext()),
      handler(sqsEvent(first, 1, "dup-b"), fakeContext()),
    ]);

    expect(results).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    expect(continuations).toEqual([]);
    expect(await getJobItem(admin.tenant, jobId)).toMatchObject({
      status: "succeeded",
      processed: 20,
      total: 20,
      counts: { moved: 20, skipped: 0, failed: 0 },
    });
    await expectAllMovedOnce(admin.tenant, ids, jobId);
  }, 60_000);

  it("skips a customer reassigned to C while the job works and keeps an edit made under its feet", async () => {
    const { admin, ids, jobId, first, handler } = await setUp(12);
    const [reassigned, edited] = [ids[3]!, ids[7]!];
    const interfered = new Set<string>();
    hooks.beforeUpdate = async (before, set) => {
      if (set.ownerId !== B || interfered.has(before.id)) return;
      if (before.id !== reassigned && before.id !== edited) return;
      // The worker has read this customer and is about to write it: someone else writes first.
      interfered.add(before.id);
      const current = (await getCustomerItem(admin.tenant, before.id))!;
      const patch = before.id === reassigned ? { ownerId: C } : { level: "VIP" };
      await patchCustomer(admin, before.id, CustomerPatchSchema.parse(patch), current.version);
    };
    try {
      expect(await handler(sqsEvent(first), fakeContext())).toEqual({ batchItemFailures: [] });
    } finally {
      hooks.beforeUpdate = undefined;
    }

    expect(interfered).toEqual(new Set([reassigned, edited]));
    expect(await getJobItem(admin.tenant, jobId)).toMatchObject({
      status: "succeeded",
      processed: 12,
      total: 12,
      counts: { moved: 11, skipped: 1, failed: 0 },
    });
    expect(await getCustomerItem(admin.tenant, reassigned)).toMatchObject({ ownerId: C });
    expect(await jobEntries(admin.tenant, reassigned, jobId)).toHaveLength(0);
    expect(await getCustomerItem(admin.tenant, edited)).toMatchObject({ ownerId: B, level: "VIP", version: 3 });
    await expectAllMovedOnce(
      admin.tenant,
      ids.filter((id) => id !== reassigned),
      jobId,
    );
  }, 60_000);

  it("records the handover's start in the audit log and refuses a handover to the same user", async () => {
    const { admin, jobId } = await setUp(1);
    const { items } = await queryAudit(admin.tenant, { entityId: jobId, limit: 10 });
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ action: "create", entityType: "job", actor: "u-admin" });
    await expect(startHandover(admin, A, { toUserId: A }, "r", async () => undefined)).rejects.toMatchObject({
      status: 400,
    });
  }, 60_000);
});
