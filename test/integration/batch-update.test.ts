// Batch update jobs against DynamoDB Local: one patch applied to every customer matching a filter within the
// caller's data scope, each change audited, counted once, and nothing changed twice when a message repeats.
import type { Context } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { jobsWorker } from "../../functions/workers/jobs-worker.ts";
import type { Caller } from "../../shared/auth/claims.ts";
import { queryAudit } from "../../shared/domain/audit/audit.ts";
import { getCustomerItem } from "../../shared/domain/customers/repository.ts";
import { CustomerCreateSchema } from "../../shared/domain/customers/schemas.ts";
import { createCustomer } from "../../shared/domain/customers/service.ts";
import { BatchUpdateSchema, startBatchUpdate } from "../../shared/domain/exports/batch-update.ts";
import { getJobItem } from "../../shared/domain/jobs/repository.ts";
import type { JobMessage } from "../../shared/domain/jobs/schemas.ts";
import { aCaller } from "../support/builders.ts";
import { sqsEvent } from "../support/job-events.ts";

const context = () => ({ getRemainingTimeInMillis: () => 60_000 }) as Context;
const handler = jobsWorker({ continueJob: async () => undefined });

async function run(caller: Caller, body: unknown) {
  const sent: JobMessage[] = [];
  const { jobId } = await startBatchUpdate(
    caller,
    BatchUpdateSchema.parse(body),
    "req",
    async (m) => void sent.push(m),
  );
  expect(await handler(sqsEvent(sent[0]!), context())).toEqual({ batchItemFailures: [] });
  return { jobId, message: sent[0]!, job: (await getJobItem(caller.tenant, jobId))! };
}

const make = async (caller: Caller, o: Record<string, unknown>) =>
  ((await createCustomer(caller, CustomerCreateSchema.parse(o), undefined)).body as { id: string }).id;

describe("batch update job", () => {
  it("patches every matching customer once, with an audit entry each, and leaves the others alone", async () => {
    const admin = aCaller();
    const makers = Array.from({ length: 6 }, (_, i) => make(admin, { name: `制造客户${i}`, industry: "制造" }));
    const shops = Array.from({ length: 3 }, (_, i) => make(admin, { name: `零售客户${i}`, industry: "零售" }));
    const [hit, miss] = [await Promise.all(makers), await Promise.all(shops)];

    const { job, jobId, message } = await run(admin, {
      filter: { industry: "制造" },
      patch: { level: "VIP", tags: ["重点", "华东"] },
    });

    expect(job).toMatchObject({
      type: "batch-update",
      status: "succeeded",
      processed: 6,
      counts: { updated: 6, skipped: 0, failed: 0 },
    });
    for (const id of hit) {
      expect(await getCustomerItem(admin.tenant, id)).toMatchObject({
        level: "VIP",
        tags: ["重点", "华东"],
        version: 2,
      });
      const entries = (await queryAudit(admin.tenant, { entityId: id, limit: 10 })).items.filter(
        (e) => e.requestId === jobId,
      );
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ action: "update", changes: expect.arrayContaining(["level", "tags"]) });
    }
    for (const id of miss) expect((await getCustomerItem(admin.tenant, id))?.level).toBeUndefined();

    // The message again: the job has finished; nothing changes.
    expect(await handler(sqsEvent(message), context())).toEqual({ batchItemFailures: [] });
    expect((await getCustomerItem(admin.tenant, hit[0]!))?.version).toBe(2);
    // The same patch again: nothing left to change.
    expect((await run(admin, { filter: { industry: "制造" }, patch: { level: "VIP" } })).job.counts).toMatchObject({
      updated: 0,
      skipped: 6,
      failed: 0,
    });
  });

  it("touches only customers in the caller's data scope", async () => {
    const admin = aCaller();
    const sales: Caller = { ...admin, userId: "u-sales-1", roles: ["sales"] };
    const mine = await make(sales, { name: "我的客户" });
    const other = await make(admin, { name: "别人的客户", ownerId: "u-sales-2" });
    const { job } = await run(sales, { patch: { stage: "formal" } });
    expect(job.counts).toMatchObject({ updated: 1, skipped: 0, failed: 0 });
    expect(await getCustomerItem(admin.tenant, mine)).toMatchObject({ stage: "formal" });
    expect(await getCustomerItem(admin.tenant, other)).toMatchObject({ stage: "potential" });
  });

  it("refuses a patch that changes nothing or a field it does not allow", () => {
    expect(BatchUpdateSchema.safeParse({ patch: {} }).success).toBe(false);
    expect(BatchUpdateSchema.safeParse({ patch: { name: "x" } }).success).toBe(false);
    expect(BatchUpdateSchema.safeParse({ patch: { level: "A" }, filter: { q: "x" } }).success).toBe(false);
  });
});
