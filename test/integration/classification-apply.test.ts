// The bulk classification job against DynamoDB Local, with a hook in the window between the job reading a page and
// writing a group of customers: a customer edited there keeps its edit (never overwritten with the value planned from
// the stale read), and a worker that crashes after writing part of a page resumes without writing or counting anyone
// twice.
import type { Context, SQSEvent } from "aws-lambda";
import { describe, expect, it, vi } from "vitest";
import { jobsWorker } from "../../functions/workers/jobs-worker.ts";
import type { Caller } from "../../shared/auth/claims.ts";
import { readHistory, readProfile } from "../../shared/domain/classification/repository.ts";
import { SchemeInputSchema } from "../../shared/domain/classification/schemas.ts";
import { applyScheme, createScheme, distribution } from "../../shared/domain/classification/service.ts";
import { CustomerPatchSchema } from "../../shared/domain/customers/schemas.ts";
import { patchCustomer } from "../../shared/domain/customers/service.ts";
import { getJobItem } from "../../shared/domain/jobs/repository.ts";
import { listReplanMarkers } from "../../shared/domain/reminders/repository.ts";
import { ReminderRuleInputSchema } from "../../shared/domain/reminders/schemas.ts";
import { createRule } from "../../shared/domain/reminders/service.ts";
import type { JobMessage } from "../../shared/domain/jobs/schemas.ts";
import { aCaller } from "../support/builders.ts";
import { newCustomer } from "../support/orders.ts";

const hooks = vi.hoisted(() => {
  // Small pages, so a job over a dozen customers has several pages and groups.
  process.env.CLASSIFY_PAGE_SIZE = "5";
  return {
    beforeGroup: undefined as undefined | ((customerIds: string[]) => Promise<void>),
    afterGroup: undefined as undefined | ((customerIds: string[]) => Promise<void>),
    /** Ids of each strongly consistent profile read, in the order the reads finished. */
    reads: [] as string[][],
  };
});

vi.mock("../../shared/domain/customers/repository.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../shared/domain/customers/repository.ts")>();
  return {
    ...real,
    batchGetProfiles: async (...args: Parameters<typeof real.batchGetProfiles>) => {
      const found = await real.batchGetProfiles(...args);
      if (args[2]) hooks.reads.push(args[1]);
      return found;
    },
  };
});

vi.mock("../../shared/domain/classification/repository.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../shared/domain/classification/repository.ts")>();
  return {
    ...real,
    writeReconcileGroup: async (...args: Parameters<typeof real.writeReconcileGroup>) => {
      const ids = args[1].map((e) => e.customerId);
      const before = hooks.beforeGroup;
      hooks.beforeGroup = undefined;
      await before?.(ids);
      await real.writeReconcileGroup(...args);
      const after = hooks.afterGroup;
      hooks.afterGroup = undefined;
      await after?.(ids);
    },
  };
});

let seq = 0;
const event = (msg: JobMessage, id = `m-${++seq}`): SQSEvent =>
  ({
    Records: [
      {
        messageId: id,
        receiptHandle: "rh",
        body: JSON.stringify(msg),
        attributes: { ApproximateReceiveCount: "1" },
        messageAttributes: {},
        eventSource: "aws:sqs",
      },
    ],
  }) as unknown as SQSEvent;
const context = { awsRequestId: "r", getRemainingTimeInMillis: () => 600_000 } as unknown as Context;

/** A tenant with `n` customers of level B and a new scheme that sorts them by level (not applied yet). */
async function setUp(n: number) {
  const caller = aCaller();
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await newCustomer(caller, { level: "B" })).id);
  await createScheme(
    caller,
    "tier",
    SchemeInputSchema.parse({
      name: "等级分层",
      rules: [{ value: "bee", when: { field: "level", op: "eq", value: "B" } }],
      default: "other",
    }),
  );
  const sent: JobMessage[] = [];
  const { jobId } = await applyScheme(caller, "tier", undefined, async (m) => void sent.push(m));
  return { caller, ids, jobId, message: sent[0]!, worker: jobsWorker({ continueJob: async () => undefined }) };
}

async function tierCounts(caller: Caller) {
  const dist = await distribution(caller, "tier");
  return Object.fromEntries(dist.items.map((x) => [x.value, x.count]));
}

describe("bulk classification job", () => {
  it("keeps a customer's concurrent edit: the stale plan is not written, the customer is reclassified from its edit", async () => {
    const { caller, ids, jobId, message, worker } = await setUp(12);
    const edited: string[] = [];
    hooks.beforeGroup = async (group) => {
      // Between the job's read of this page and its write: a user moves the first customer of the group to level A.
      const id = group[0]!;
      const cur = (await readProfile(caller.tenant, id))!;
      await patchCustomer(caller, id, CustomerPatchSchema.parse({ level: "A" }), cur.version);
      edited.push(id);
    };

    expect(await worker(event(message), context)).toEqual({ batchItemFailures: [] });

    expect(edited).toHaveLength(1);
    const after = (await readProfile(caller.tenant, edited[0]!))!;
    expect(after.level).toBe("A");
    expect(after.categories.tier).toBe("other");
    // It never passed through "bee": the job's plan from before the edit was not written.
    expect((await readHistory(caller.tenant, edited[0]!)).filter((h) => h.schemeId === "tier")).toEqual([
      expect.objectContaining({ from: null, to: "other" }),
    ]);
    for (const id of ids.filter((x) => x !== edited[0])) {
      expect((await readProfile(caller.tenant, id))!.categories.tier, id).toBe("bee");
    }
    const job = (await getJobItem(caller.tenant, jobId))!;
    expect(job.status).toBe("succeeded");
    expect(job.processed).toBe(12);
    expect((job.counts.changed ?? 0) + (job.counts.unchanged ?? 0)).toBe(12);
    expect(await tierCounts(caller)).toEqual({ bee: 11, other: 1 });
  }, 120_000);

  it("reads the next page while writing one, and still keeps an edit made after that read", async () => {
    const { caller, ids, jobId, message, worker } = await setUp(12);
    hooks.reads = [];
    let nextPage: string[] = [];
    hooks.beforeGroup = async (group) => {
      // The first group of the first page is about to be written: the second page has been read already.
      for (let i = 0; i < 100 && hooks.reads.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      expect(hooks.reads.length, "the next page was not read ahead").toBeGreaterThanOrEqual(2);
      nextPage = hooks.reads[1]!;
      expect(nextPage.some((id) => group.includes(id))).toBe(false);
      // Now a user moves every customer of that page to level A: the job's plans for them are stale.
      for (const id of nextPage) {
        const cur = (await readProfile(caller.tenant, id))!;
        await patchCustomer(caller, id, CustomerPatchSchema.parse({ level: "A" }), cur.version);
      }
    };

    expect(await worker(event(message), context)).toEqual({ batchItemFailures: [] });

    expect(nextPage.length).toBeGreaterThan(0);
    for (const id of nextPage) {
      expect((await readProfile(caller.tenant, id))!.categories.tier, id).toBe("other");
      // It never passed through "bee": the plan from the read ahead of the edit was not written.
      expect(
        (await readHistory(caller.tenant, id)).filter((h) => h.schemeId === "tier"),
        id,
      ).toEqual([expect.objectContaining({ from: null, to: "other" })]);
    }
    for (const id of ids.filter((x) => !nextPage.includes(x))) {
      expect((await readProfile(caller.tenant, id))!.categories.tier, id).toBe("bee");
    }
    const job = (await getJobItem(caller.tenant, jobId))!;
    expect(job).toMatchObject({ status: "succeeded", processed: 12 });
    expect((job.counts.changed ?? 0) + (job.counts.unchanged ?? 0)).toBe(12);
    expect(await tierCounts(caller)).toEqual({ bee: 12 - nextPage.length, other: nextPage.length });
  }, 120_000);

  it("resumes after a crash between two groups of a page: nobody written or counted twice", async () => {
    const { caller, ids, jobId, message, worker } = await setUp(12);
    let written: string[] = [];
    hooks.afterGroup = async (group) => {
      written = group;
      throw new Error("simulated crash after a group was written");
    };

    expect(await worker(event(message, "crash-1"), context)).toEqual({
      batchItemFailures: [{ itemIdentifier: "crash-1" }],
    });
    const crashed = (await getJobItem(caller.tenant, jobId))!;
    expect(crashed.status).toBe("running");
    expect(written.length).toBeGreaterThan(0);
    // The crashed page's group is written, but its counts were not saved with a cursor.
    expect((await readProfile(caller.tenant, written[0]!))!.categories.tier).toBe("bee");

    expect(await worker(event(message, "crash-1"), context)).toEqual({ batchItemFailures: [] });

    const job = (await getJobItem(caller.tenant, jobId))!;
    expect(job).toMatchObject({ status: "succeeded", processed: 12, counts: { changed: 12, unchanged: 0 } });
    for (const id of ids) {
      const changes = (await readHistory(caller.tenant, id)).filter((h) => h.schemeId === "tier");
      expect(changes, id).toHaveLength(1);
    }
    expect(await tierCounts(caller)).toEqual({ bee: 12 });
  }, 120_000);
});

describe("reminder re-plan markers of the bulk job", () => {
  const ruleOn = (field: string, op: "eq" | "gt", value: unknown) =>
    ReminderRuleInputSchema.parse({
      name: `提醒 ${field}`,
      when: { field, op, value },
      trigger: { type: "inactivity", days: 30 },
      assignee: "owner",
    });
  /** Customers the job left a marker for (markers written before the job started are not its). */
  const markedSince = async (tenant: string, since: string) =>
    (await listReplanMarkers(tenant)).filter((m) => m.at >= since).map((m) => m.customerId);

  it.each([
    { name: "no rule at all", rule: undefined, want: false },
    { name: "a rule on stats only", rule: ruleOn("stats.orderCount", "gt", 0), want: false },
    { name: "a rule selecting by category", rule: ruleOn("categories.tier", "eq", "bee"), want: true },
  ])(
    "with $name: markers for the moved customers only when a rule can select them by category",
    async (c) => {
      const { caller, ids, message, worker } = await setUp(7);
      if (c.rule) await createRule(caller, c.rule, undefined);
      const since = new Date().toISOString();
      expect(await worker(event(message), context)).toEqual({ batchItemFailures: [] });
      for (const id of ids) expect((await readProfile(caller.tenant, id))!.categories.tier).toBe("bee");
      expect((await markedSince(caller.tenant, since)).sort()).toEqual(c.want ? [...ids].sort() : []);
    },
    120_000,
  );

  it("a rule on categories created while the job runs: the groups written after it leave markers", async () => {
    const { caller, ids, message, worker } = await setUp(12);
    const since = new Date().toISOString();
    // The job decided "no markers" from the rules it read; the rule comes between that read and the first group.
    hooks.beforeGroup = async () => void (await createRule(caller, ruleOn("categories.tier", "eq", "bee"), undefined));
    expect(await worker(event(message), context)).toEqual({ batchItemFailures: [] });
    for (const id of ids) expect((await readProfile(caller.tenant, id))!.categories.tier).toBe("bee");
    expect((await markedSince(caller.tenant, since)).sort()).toEqual([...ids].sort());
  }, 120_000);
});
