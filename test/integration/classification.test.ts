// Classification against DynamoDB Local: built-in schemes on every write, custom schemes with versions, preview that
// writes nothing, apply as an interrupted and resumed job, distribution and membership equal to a recomputation, scopes,
// category history, concurrency on one customer.
import { describe, expect, it, vi } from "vitest";
import { jobsWorker } from "../../functions/workers/jobs-worker.ts";
import type { Caller } from "../../shared/auth/claims.ts";
import { classify } from "../../shared/domain/classification/engine.ts";
import { readConfig, readProfile } from "../../shared/domain/classification/repository.ts";
import { SchemeInputSchema } from "../../shared/domain/classification/schemas.ts";
import {
  applyScheme,
  categoriesAt,
  createScheme,
  distribution,
  getScheme,
  previewScheme,
  putScheme,
  reclassify,
  valuePyramid,
} from "../../shared/domain/classification/service.ts";
import type { CustomerItem } from "../../shared/domain/customers/repository.ts";
import { CustomerListQuerySchema, CustomerPatchSchema } from "../../shared/domain/customers/schemas.ts";
import { customer360, getCustomer, listCustomers, patchCustomer } from "../../shared/domain/customers/service.ts";
import { getJobItem } from "../../shared/domain/jobs/repository.ts";
import type { JobMessage } from "../../shared/domain/jobs/schemas.ts";
import { TIME_RESERVE_MS } from "../../shared/domain/jobs/progress.ts";
import { actOnOrder } from "../../shared/domain/orders/service.ts";
import { parseFen } from "../../shared/domain/money.ts";
import { GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { env } from "../../shared/config/env.ts";
import { ddb } from "../../shared/db/client.ts";
import { customerKeys } from "../../shared/domain/customers/keys.ts";
import { aCaller } from "../support/builders.ts";
import { fakeContext, sqsEvent } from "../support/job-events.ts";
import { newCustomer, newOrder, retrying } from "../support/orders.ts";

// Pages of 25 customers, so the custom scheme test's 30 customers make an interrupted job resume from a cursor.
vi.hoisted(() => void (process.env.CLASSIFY_PAGE_SIZE = "25"));

const scheme = (o: Record<string, unknown>) => SchemeInputSchema.parse(o);
const list = (caller: Caller, q: Record<string, string>) => listCustomers(caller, CustomerListQuerySchema.parse(q));

/** Every page of a customer list. */
async function all(caller: Caller, q: Record<string, string>) {
  const out: { id: string; categories: Record<string, string> }[] = [];
  let cursor: string | undefined;
  do {
    const page = await list(caller, { ...q, limit: "7", ...(cursor ? { cursor } : {}) });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

async function approved(caller: Caller, customerId: string, price: string) {
  const o = await newOrder(caller, customerId, [price]);
  await retrying(() => actOnOrder(caller, o.id, "submit", {}, undefined));
  await retrying(() => actOnOrder(caller, o.id, "approve", {}, undefined));
  return o;
}

describe("built-in schemes", () => {
  it("classify every new customer and follow its orders, with the change history answerable by date", async () => {
    const caller = aCaller();
    const c = await newCustomer(caller, { industry: "machinery", region: "330106" });
    expect(c.categories).toEqual({
      industry: "machinery",
      region: "33",
      type: "enterprise",
      size: "small",
      frequency: "low",
      loyalty: "prospect",
      credit: "unrated",
    });
    const beforeOrders = new Date().toISOString();
    await approved(caller, c.id, "60000.00");
    await approved(caller, c.id, "50000.00");
    const after = await customer360(caller, c.id);
    expect(after.customer.categories).toMatchObject({ size: "medium", loyalty: "returning", frequency: "medium" });
    expect(after.categories.size).toBe("medium");
    expect(after.valueScore?.score).toBeGreaterThan(0);
    expect(Object.keys(after.valueScore!.factors).sort()).toEqual(["frequency", "monetary", "recency"]);

    const then = await categoriesAt(caller, c.id, beforeOrders);
    expect(then.categories).toMatchObject({ size: "small", loyalty: "prospect" });
    const now = await categoriesAt(caller, c.id);
    expect(now.categories).toMatchObject({ size: "medium", loyalty: "returning" });
    expect(now.history.filter((h) => h.schemeId === "loyalty").map((h) => h.to)).toEqual([
      "prospect",
      "new",
      "returning",
    ]);
  });

  it("answers a create or a patch with its classification: a create reads no profile back, a patch reads it once", async () => {
    const caller = aCaller();
    const sent = vi.spyOn(ddb, "send");
    try {
      // Reads of the profile by key (a reconcile's); the viewer and a GET read theirs in one BatchGetItem.
      const profileReads = (id: string) =>
        sent.mock.calls.filter(([cmd]) => {
          const key = (cmd as { input?: { Key?: Record<string, unknown> } }).input?.Key;
          return cmd instanceof GetCommand && key?.PK === customerKeys.pk(caller.tenant, id);
        }).length;
      const c = await newCustomer(caller, { industry: "machinery", region: "330106" });
      expect(profileReads(c.id)).toBe(0); // planned from the profile it wrote
      const read = await getCustomer(caller, c.id);
      expect(c.categories).toEqual(read.categories);
      expect(c.categories.industry).toBe("machinery");
      expect(c.valueScore).toBe(read.valueScore);

      sent.mockClear();
      const patched = await patchCustomer(caller, c.id, CustomerPatchSchema.parse({ industry: "retail" }), 1);
      expect(profileReads(c.id)).toBe(1);
      expect(patched.categories.industry).toBe("retail");
      expect(patched.categories).toEqual((await getCustomer(caller, c.id)).categories);
      // A patch that moves no category answers with the stored ones.
      const renamed = await patchCustomer(caller, c.id, CustomerPatchSchema.parse({ name: "另一个名字" }), 2);
      expect(renamed.categories).toEqual(patched.categories);
    } finally {
      sent.mockRestore();
    }
  });

  it("plans again from a fresh read when the profile a create wrote was classified meanwhile, counting it once", async () => {
    const caller = aCaller();
    const c = await newCustomer(caller, { industry: "machinery", region: "330106" });
    // The profile as its create wrote it, before its classification: a reconcile planned from it finds the snapshot
    // moved on, reads the profile and leaves it as it is.
    const asWritten = { ...(await readProfile(caller.tenant, c.id))!, categories: {} } as Record<string, unknown>;
    delete asWritten.cls;
    delete asWritten.valueScore;
    delete asWritten.valueFactors;
    const before = await distribution(caller, "industry");
    const state = await reclassify(caller.tenant, c.id, asWritten as CustomerItem);
    expect(state?.categories).toEqual(c.categories);
    expect(await distribution(caller, "industry")).toEqual(before);
    expect(before.items).toContainEqual({ value: "machinery", count: 1, revenue: "0.00" });
  });

  it("records a change of many schemes as one history item, and still reads history items of one scheme each", async () => {
    const caller = aCaller();
    const c = await newCustomer(caller, { industry: "machinery", region: "330106" });
    const pk = customerKeys.pk(caller.tenant, c.id);
    const stored = async () =>
      (
        await ddb.send(
          new QueryCommand({
            TableName: env.TABLE_NAME,
            KeyConditionExpression: "PK = :pk AND begins_with(SK, :h)",
            ExpressionAttributeValues: { ":pk": pk, ":h": "~CH#" },
            ConsistentRead: true,
          }),
        )
      ).Items ?? [];
    // Entering all seven built-in schemes is one item.
    const first = await stored();
    expect(first).toHaveLength(1);
    expect(Object.keys(first[0]!.changes as object).sort()).toEqual(
      ["credit", "frequency", "industry", "loyalty", "region", "size", "type"].sort(),
    );
    // A history item in the form written before (one per scheme) is read with the new ones, in time order.
    await ddb.send(
      new PutCommand({
        TableName: env.TABLE_NAME,
        Item: {
          PK: pk,
          SK: "~CH#industry#2000-01-01T00:00:00.000Z",
          entity: "class-change",
          schemeId: "industry",
          from: null,
          to: "textiles",
          at: "2000-01-01T00:00:00.000Z",
        },
      }),
    );
    await patchCustomer(caller, c.id, CustomerPatchSchema.parse({ industry: "chemicals" }), c.version);
    expect(await stored()).toHaveLength(3);
    const now = await categoriesAt(caller, c.id);
    expect(now.history.filter((h) => h.schemeId === "industry").map((h) => [h.from, h.to])).toEqual([
      [null, "textiles"],
      [null, "machinery"],
      ["machinery", "chemicals"],
    ]);
    expect((await categoriesAt(caller, c.id, "2001-01-01T00:00:00.000Z")).categories).toEqual({ industry: "textiles" });
    expect(now.categories).toMatchObject({ industry: "chemicals", region: "33", size: "small" });
  });

  it("keep categories and distribution exact under parallel approvals on one customer", async () => {
    const caller = aCaller();
    const c = await newCustomer(caller);
    const orders = await Promise.all(Array.from({ length: 8 }, () => newOrder(caller, c.id, ["20000.00"])));
    await Promise.all(orders.map((o) => retrying(() => actOnOrder(caller, o.id, "submit", {}, undefined))));
    await Promise.all(orders.map((o) => retrying(() => actOnOrder(caller, o.id, "approve", {}, undefined))));
    const item = (await readProfile(caller.tenant, c.id))!;
    const { schemes } = await readConfig(caller.tenant);
    for (const s of schemes) expect(item.categories[s.id], s.id).toBe(classify(s, item, Date.now()));
    expect(item.categories).toMatchObject({ size: "medium", frequency: "high", loyalty: "returning" });
    const size = await distribution(caller, "size");
    expect(size.items).toEqual([{ value: "medium", count: 1, revenue: "160000.00" }]);
  });
});

describe("custom schemes", () => {
  it("refuses a bad rule naming it, keeps versions readable, previews without writing and applies as a resumable job", async () => {
    const caller = aCaller();
    // More customers than one page of the job (25), so an interrupted run has a cursor to resume from.
    const amounts = ["500.00", "3000.00", "12000.00", "0", "8000.00", "25000.00", "1500.00", "0", "9000.00"];
    amounts.push(...Array.from({ length: 21 }, () => "0"));
    const customers: { id: string }[] = [];
    for (const [i, a] of amounts.entries()) {
      const c = await newCustomer(caller, { level: i % 2 ? "A" : "B" });
      if (a !== "0") await approved(caller, c.id, a);
      customers.push(c);
    }
    const v1 = scheme({
      name: "贡献度",
      rules: [{ value: "gold", when: { field: "stats.totalAmount", op: "gte", value: "10000.00" } }],
      default: "plain",
    });
    await createScheme(caller, "contrib", v1);
    const sent: JobMessage[] = [];
    const send = async (m: JobMessage) => void sent.push(m);
    const worker = jobsWorker({ continueJob: send });
    await applyScheme(caller, "contrib", undefined, send);
    await worker(sqsEvent(sent.pop()!), fakeContext());
    for (const [i, c] of customers.entries()) {
      const gold = parseFen(amounts[i]!)! >= 1_000_000;
      expect((await readProfile(caller.tenant, c.id))!.categories.contrib).toBe(gold ? "gold" : "plain");
    }

    // v2 adds a silver tier; the first version stays readable.
    const v2 = scheme({
      name: "贡献度",
      rules: [
        { value: "gold", when: { field: "stats.totalAmount", op: "gte", value: "10000.00" } },
        {
          value: "silver",
          when: {
            all: [
              { field: "stats.totalAmount", op: "gte", value: "2000.00" },
              { field: "level", op: "eq", value: "A" },
            ],
          },
        },
      ],
      default: "plain",
    });
    const stored = await putScheme(caller, "contrib", v2, 1);
    expect(stored.version).toBe(2);
    expect((await getScheme(caller, "contrib", 1)).rules).toHaveLength(1);
    expect((await getScheme(caller, "contrib")).rules).toHaveLength(2);
    await expect(putScheme(caller, "contrib", v2, 1)).rejects.toMatchObject({ status: 409 });

    // Customers still carry v1's categories: the preview compares them with v2, writing nothing.
    const expected = new Map<string, string>();
    for (const c of customers)
      expected.set(c.id, classify(stored, (await readProfile(caller.tenant, c.id))!, Date.now()));
    const preview = await previewScheme(caller, "contrib", { sample: 50 });
    const want = (v: string) => [...expected.values()].filter((x) => x === v).length;
    expect(preview.customers).toBe(customers.length);
    expect(preview.categories.find((x) => x.value === "silver")).toMatchObject({ before: 0, after: want("silver") });
    expect(preview.moving).toBe(want("silver"));
    expect(preview.sample.every((s) => s.to === "silver" && s.from === "plain")).toBe(true);
    for (const c of customers) {
      expect((await readProfile(caller.tenant, c.id))!.categories.contrib).not.toBe("silver");
    }

    // Apply: the first run stops after one page (time short), the continuation finishes; a duplicate changes nothing.
    const { jobId } = await applyScheme(caller, "contrib", undefined, send);
    await worker(
      sqsEvent(sent[0]!),
      fakeContext((n) => (n <= 1 ? 60_000 : TIME_RESERVE_MS - 1)),
    );
    let job = await getJobItem(caller.tenant, jobId);
    expect(job?.status).toBe("running");
    expect(sent).toHaveLength(2);
    await worker(sqsEvent(sent[1]!), fakeContext());
    job = await getJobItem(caller.tenant, jobId);
    expect(job?.status).toBe("succeeded");
    expect(job?.processed).toBe(customers.length);
    expect(job?.counts.changed).toBe(want("silver"));
    await worker(sqsEvent(sent[1]!), fakeContext());
    expect((await getJobItem(caller.tenant, jobId))?.processed).toBe(customers.length);

    // Distribution and membership equal a recomputation from the customers.
    const dist = await distribution(caller, "contrib");
    for (const value of ["gold", "silver", "plain"]) {
      expect(dist.items.find((x) => x.value === value)?.count ?? 0, value).toBe(want(value));
      const members = await all(caller, { category: `contrib:${value}` });
      expect(members.map((m) => m.id).sort()).toEqual(
        [...expected.entries()]
          .filter(([, v]) => v === value)
          .map(([id]) => id)
          .sort(),
      );
    }
    const revenue = (v: string) =>
      amounts.reduce((sum, a, i) => (expected.get(customers[i]!.id) === v ? sum + parseFen(a)! : sum), 0);
    expect(parseFen(dist.items.find((x) => x.value === "gold")!.revenue)).toBe(revenue("gold"));
  });

  it("answers 4xx naming the rule for unknown ops, fields and wrong value types, and stores nothing", async () => {
    const caller = aCaller();
    const bad = SchemeInputSchema.safeParse({
      name: "x",
      rules: [
        { value: "a", when: { field: "level", op: "eq", value: "A" } },
        { value: "b", when: { field: "stats.orderCount", op: "gt", value: "3" } },
      ],
      default: "c",
    });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(["rules", 1, "when", "value"]);
    await expect(getScheme(caller, "nope")).rejects.toMatchObject({ status: 404 });
  });
});

describe("scopes and lifecycle", () => {
  it("counts only what a scoped user may see in distribution, pyramid and category lists", async () => {
    const admin = aCaller();
    const sales = { ...admin, userId: "u-sales", roles: ["sales" as const] };
    // No user record: the token's role applies with its default scope, own.
    const mine = await newCustomer(admin, { ownerId: "u-sales", industry: "retail" });
    await newCustomer(admin, { industry: "retail" });
    await newCustomer(admin, { industry: "retail" });
    const retail = await distribution(admin, "industry");
    expect(retail.items).toEqual([{ value: "retail", count: 3, revenue: "0.00" }]);
    const own = await distribution(sales, "industry");
    expect(own.items).toEqual([{ value: "retail", count: 1, revenue: "0.00" }]);
    expect((await all(sales, { category: "industry:retail" })).map((c) => c.id)).toEqual([mine.id]);
    expect((await valuePyramid(sales)).total).toBe(1);
    expect((await valuePyramid(admin)).total).toBe(3);
    await expect(categoriesAt(sales, (await all(admin, {})).find((c) => c.id !== mine.id)!.id)).rejects.toMatchObject({
      status: 404,
    });
  });

  it("moves a customer's cells when it is binned and restored, and refuses illegal stage moves", async () => {
    const caller = aCaller();
    const c = await newCustomer(caller, { industry: "energy" });
    const { deleteCustomer, restoreCustomer } = await import("../../shared/domain/customers/service.ts");
    await deleteCustomer(caller, c.id, undefined);
    expect((await distribution(caller, "industry")).items).toEqual([]);
    await restoreCustomer(caller, c.id);
    expect((await distribution(caller, "industry")).items).toEqual([{ value: "energy", count: 1, revenue: "0.00" }]);
    const cur = (await readProfile(caller.tenant, c.id))!;
    await expect(
      patchCustomer(caller, c.id, CustomerPatchSchema.parse({ stage: "dormant" }), cur.version),
    ).rejects.toMatchObject({ status: 409 });
    const formal = await patchCustomer(caller, c.id, CustomerPatchSchema.parse({ stage: "formal" }), cur.version);
    expect(formal.stage).toBe("formal");
  });
});
