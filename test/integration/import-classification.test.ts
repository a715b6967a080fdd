// Imported customers are classified by the import itself: right after the job, the category lists and the
// distribution show them (not only after their next write or the nightly sweep), also when a chunk is repeated after
// the reclassification step failed or a crash. Inserts are classified in their own transactions, updates after the
// chunk; reminder re-plan markers follow the rules as the API's writes do.
import { describe, expect, it, vi } from "vitest";
import type { Caller } from "../../shared/auth/claims.ts";
import { env } from "../../shared/config/env.ts";
import { readHistory } from "../../shared/domain/classification/repository.ts";
import { distribution } from "../../shared/domain/classification/service.ts";
import { CustomerListQuerySchema } from "../../shared/domain/customers/schemas.ts";
import { listCustomers } from "../../shared/domain/customers/service.ts";
import { getJobItem } from "../../shared/domain/jobs/repository.ts";
import { listReplanMarkers } from "../../shared/domain/reminders/repository.ts";
import { aCaller } from "../support/builders.ts";
import { anImport, fakeContext, runToEnd, sqsEvent } from "../support/import-jobs.ts";
import { aRule } from "../support/reminders.ts";

/**
 * Lets a test make the reclassification after a chunk fail (as a throttled table or a killed worker would), act before
 * an import's group transaction, or die once the groups are written (before the search-index items).
 */
// (The import reclassifies a chunk's customers in group transactions: the hook runs before each group's write.)
const hooks = vi.hoisted(() => ({
  beforeReconcile: undefined as undefined | (() => void),
  beforeGroup: undefined as undefined | (() => Promise<void>),
  afterGroups: undefined as undefined | (() => void),
}));
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
vi.mock("../../shared/domain/imports/repository.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../shared/domain/imports/repository.ts")>();
  return {
    ...real,
    writeGroup: async (...args: Parameters<typeof real.writeGroup>) => {
      await hooks.beforeGroup?.();
      return real.writeGroup(...args);
    },
    putIndexItems: async (...args: Parameters<typeof real.putIndexItems>) => {
      hooks.afterGroups?.();
      return real.putIndexItems(...args);
    },
  };
});

/** Ids of every customer of the tenant. */
async function listedIds(caller: Caller) {
  const page = await listCustomers(caller, CustomerListQuerySchema.parse({ limit: 200 }));
  return (page as { items: { id: string }[] }).items.map((c) => c.id);
}

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
    await runToEnd(admin, "code,name,industry\nRP-1,甲,制造\nRP-2,乙,制造\nRP-3,丙,化工\n");
    // An update (reclassified after the chunk) and an insert (classified in its own transaction) in one chunk.
    const imp = await anImport(admin, "code,name,industry\nRP-2,乙,化工\nRP-4,丁,制造\n");
    let calls = 0;
    hooks.beforeReconcile = () => {
      if (++calls === 1) throw new Error("simulated failure while reclassifying");
    };
    expect(await imp.handler(sqsEvent(imp.message, 1, "rc"), fakeContext())).toEqual({
      batchItemFailures: [{ itemIdentifier: "rc" }],
    });
    hooks.beforeReconcile = undefined;
    expect(calls).toBe(1);
    expect((await getJobItem(admin.tenant, imp.jobId))!.processed).toBe(0);

    expect(await imp.handler(sqsEvent(imp.message, 2, "rc"), fakeContext())).toEqual({ batchItemFailures: [] });
    expect((await getJobItem(admin.tenant, imp.jobId))!).toMatchObject({
      status: "succeeded",
      counts: { inserted: 1, updated: 1, skipped: 0, failed: 0 },
    });
    expect(await inCategory(admin, "industry:制造")).toEqual(["RP-1", "RP-4"]);
    expect(await inCategory(admin, "industry:化工")).toEqual(["RP-2", "RP-3"]);
    expect(await counts(admin, "industry")).toEqual({ 制造: 2, 化工: 2 });
  });

  it("inserts are classified in their own transactions: a crash after them counts each once, with one history entry", async () => {
    const admin = aCaller();
    const rows = Array.from({ length: 40 }, (_, i) => `CT-${i},客户${i},${i % 4 ? "制造" : "零售"}\n`).join("");
    const imp = await anImport(admin, `code,name,industry\n${rows}`);
    let reconciles = 0;
    hooks.beforeReconcile = () => void reconciles++;
    // The worker dies once every group of the chunk is written: before the search index and the checkpoint.
    hooks.afterGroups = () => {
      throw new Error("simulated crash");
    };
    expect(await imp.handler(sqsEvent(imp.message, 1, "ct"), fakeContext())).toEqual({
      batchItemFailures: [{ itemIdentifier: "ct" }],
    });
    hooks.afterGroups = undefined;
    // Already counted and listed, though the chunk never finished.
    expect(await counts(admin, "industry")).toEqual({ 制造: 30, 零售: 10 });

    expect(await imp.handler(sqsEvent(imp.message, 2, "ct"), fakeContext())).toEqual({ batchItemFailures: [] });
    hooks.beforeReconcile = undefined;
    expect((await getJobItem(admin.tenant, imp.jobId))!.counts).toEqual({
      inserted: 40,
      updated: 0,
      skipped: 0,
      failed: 0,
    });
    expect(reconciles).toBe(0); // nothing was left for the reclassification after the chunk
    expect(await counts(admin, "industry")).toEqual({ 制造: 30, 零售: 10 });
    expect((await inCategory(admin, "industry:零售")).length).toBe(10);
    const ids = (await listedIds(admin)).slice(0, 5);
    for (const id of ids) {
      const history = await readHistory(admin.tenant, id);
      expect(
        history.filter((h) => h.schemeId === "industry"),
        id,
      ).toHaveLength(1);
    }
  });

  it("with list shards that audit chains do not divide, inserts are reclassified after the chunk, to the same result", async () => {
    const admin = aCaller();
    const shards = env.LIST_SHARDS;
    (env as { LIST_SHARDS: number }).LIST_SHARDS = 4;
    let reconciles = 0;
    hooks.beforeReconcile = () => void reconciles++;
    try {
      await runToEnd(admin, "code,name,industry\nLS-1,甲,制造\nLS-2,乙,制造\nLS-3,丙,零售\n");
      expect(reconciles).toBeGreaterThan(0);
      expect(await inCategory(admin, "industry:制造")).toEqual(["LS-1", "LS-2"]);
      expect(await counts(admin, "industry")).toEqual({ 制造: 2, 零售: 1 });
    } finally {
      (env as { LIST_SHARDS: number }).LIST_SHARDS = shards;
      hooks.beforeReconcile = undefined;
    }
  });
});

describe("reminder re-plan markers of imported customers", () => {
  const ruleOnCategory = (caller: Caller) =>
    aRule(caller, {
      when: { field: "categories.industry", op: "eq", value: "制造" },
      trigger: { type: "inactivity", days: 30 },
    });
  const markedSince = async (tenant: string, since: string) =>
    (await listReplanMarkers(tenant))
      .filter((m) => m.at >= since)
      .map((m) => m.customerId)
      .sort();

  it.each([
    { name: "no rule", rule: false, want: false },
    { name: "a rule selecting by category", rule: true, want: true },
  ])(
    "with $name before the import: markers for the inserted customers only when a rule selects by category",
    async (c) => {
      const admin = aCaller();
      if (c.rule) await ruleOnCategory(admin);
      const since = new Date().toISOString();
      await runToEnd(admin, "code,name,industry\nRM-1,甲,制造\nRM-2,乙,零售\n");
      const ids = await listedIds(admin);
      expect(ids).toHaveLength(2);
      expect(await markedSince(admin.tenant, since)).toEqual(c.want ? [...ids].sort() : []);
    },
  );

  it("a rule on categories created while the chunk is written: the inserts decided without markers get them", async () => {
    const admin = aCaller();
    const since = new Date().toISOString();
    // The chunk decided "no markers" from the rules it read; the rule comes before its first group is written.
    let created = false;
    hooks.beforeGroup = async () => {
      if (created) return;
      created = true;
      await ruleOnCategory(admin);
    };
    try {
      await runToEnd(admin, "code,name,industry\nRN-1,甲,制造\nRN-2,乙,零售\nRN-3,丙,制造\n");
    } finally {
      hooks.beforeGroup = undefined;
    }
    expect(created).toBe(true);
    const ids = await listedIds(admin);
    expect(ids).toHaveLength(3);
    expect(await markedSince(admin.tenant, since)).toEqual([...ids].sort());
  });
});
