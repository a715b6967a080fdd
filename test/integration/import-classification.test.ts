// Imported customers are classified by the import itself: right after the job, the category lists and the
// distribution show them (not only after their next write or the nightly sweep), also when a chunk is repeated after
// the reclassification step failed.
import { describe, expect, it, vi } from "vitest";
import type { Caller } from "../../shared/auth/claims.ts";
import { distribution } from "../../shared/domain/classification/service.ts";
import { CustomerListQuerySchema } from "../../shared/domain/customers/schemas.ts";
import { listCustomers } from "../../shared/domain/customers/service.ts";
import { getJobItem } from "../../shared/domain/jobs/repository.ts";
import { aCaller } from "../support/builders.ts";
import { anImport, fakeContext, runToEnd, sqsEvent } from "../support/import-jobs.ts";

/** Lets a test make the reclassification after a chunk fail, as a throttled table or a killed worker would. */
// (The import reclassifies a chunk's customers in group transactions: the hook runs before each group's write.)
const hooks = vi.hoisted(() => ({ beforeReconcile: undefined as undefined | (() => void) }));
vi.mock("../../shared/domain/classification/repository.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../shared/domain/classification/repository.ts")>();
  return {
    ...real,
    writeReconcileGroup: async (...args: Parameters<typeof real.writeReconcileGroup>) => {
      hooks.beforeReconcile?.();
      return real.writeReconcileGroup(...args);
    },
  };
});

async function inCategory(caller: Caller, category: string) {
  const page = await listCustomers(caller, CustomerListQuerySchema.parse({ category, limit: 200 }));
  return (page as { items: { code: string }[] }).items.map((c) => c.code).sort();
}

const counts = async (caller: Caller, scheme: string) =>
  Object.fromEntries((await distribution(caller, scheme)).items.map((i) => [i.value, i.count]));

describe("classification of imported customers", () => {
  it("category lists and the distribution reflect an import as soon as the job ends, and an update moves them", async () => {
    const admin = aCaller();
    await runToEnd(admin, "客户编码,客户名称,行业,客户类型\nCL-1,甲,制造,企业\nCL-2,乙,制造,企业\nCL-3,丙,零售,个人\n");

    expect(await inCategory(admin, "industry:制造")).toEqual(["CL-1", "CL-2"]);
    expect(await inCategory(admin, "type:individual")).toEqual(["CL-3"]);
    expect(await counts(admin, "industry")).toEqual({ 制造: 2, 零售: 1 });

    // An update by import moves the customer to its new category at once.
    const { job } = await runToEnd(admin, "客户编码,客户名称,行业\nCL-2,乙,零售\nCL-3,丙,零售\n");
    expect(job.counts).toEqual({ inserted: 0, updated: 1, skipped: 1, failed: 0 });
    expect(await inCategory(admin, "industry:制造")).toEqual(["CL-1"]);
    expect(await inCategory(admin, "industry:零售")).toEqual(["CL-2", "CL-3"]);
    expect(await counts(admin, "industry")).toEqual({ 制造: 1, 零售: 2 });
  });

  it("a dry run classifies nothing", async () => {
    const admin = aCaller();
    await runToEnd(admin, "code,name,industry\nDR-1,甲,制造\n", { dryRun: true });
    expect(await counts(admin, "industry")).toEqual({});
  });

  it("a chunk whose reclassification failed is repeated: customers written once, counted once, classified", async () => {
    const admin = aCaller();
    const imp = await anImport(admin, "code,name,industry\nRP-1,甲,制造\nRP-2,乙,制造\nRP-3,丙,化工\n");
    let calls = 0;
    hooks.beforeReconcile = () => {
      if (++calls === 1) throw new Error("simulated failure while reclassifying");
    };
    expect(await imp.handler(sqsEvent(imp.message, 1, "rc"), fakeContext())).toEqual({
      batchItemFailures: [{ itemIdentifier: "rc" }],
    });
    hooks.beforeReconcile = undefined;
    expect((await getJobItem(admin.tenant, imp.jobId))!.processed).toBe(0);

    expect(await imp.handler(sqsEvent(imp.message, 2, "rc"), fakeContext())).toEqual({ batchItemFailures: [] });
    expect((await getJobItem(admin.tenant, imp.jobId))!).toMatchObject({
      status: "succeeded",
      counts: { inserted: 3, updated: 0, skipped: 0, failed: 0 },
    });
    expect(await inCategory(admin, "industry:制造")).toEqual(["RP-1", "RP-2"]);
    expect(await counts(admin, "industry")).toEqual({ 制造: 2, 化工: 1 });
  });
});
