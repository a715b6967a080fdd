// The same write sent many times at once over HTTP, as double-clicks, retries and two users racing do: never a 5xx
// (a transaction conflict is a 409 or is retried, not an internal error), exactly one winner where one must win, and
// the record consistent afterwards.
import { beforeAll, describe, expect, it } from "vitest";
import { api, mintToken, uniqueTenant, type ApiResponse } from "../support/http.ts";

type Api = ReturnType<typeof api>;
const N = 8;
let admin: Api;

beforeAll(async () => {
  admin = api(await mintToken({ tenant: uniqueTenant("race"), sub: "u-race-admin" }));
});

/** `n` copies of the request at once; fails on any 5xx or any 4xx that is not a problem+json of its status. */
async function race(send: (i: number) => Promise<ApiResponse>, n = N): Promise<ApiResponse[]> {
  const all = await Promise.all(Array.from({ length: n }, (_, i) => send(i)));
  for (const r of all) {
    expect(r.status, r.text).toBeLessThan(500);
    if (r.status >= 400) {
      expect(r.headers.get("content-type"), r.text).toContain("application/problem+json");
      expect(r.body?.status).toBe(r.status);
    }
  }
  return all;
}

const statuses = (rs: ApiResponse[]) => rs.map((r) => r.status).sort();
const aCustomer = async (name = "并发客户") => (await admin.post("/v1/customers", { name })).body;
const lines = [{ sku: "A-1", name: "螺丝", quantity: 10, unitPrice: "10.00" }];

describe("the same write many times at once", () => {
  it("creates with one code: one customer, the others 409", async () => {
    const rs = await race(() => admin.post("/v1/customers", { name: "同码客户", code: "RACE-1" }));
    expect(statuses(rs)).toEqual([201, ...Array(N - 1).fill(409)]);
    const listed = (await admin.get("/v1/customers?q=RACE-1&limit=50")).body.items;
    expect(listed.map((c: { code: string }) => c.code)).toEqual(["RACE-1"]);
  });

  it("creates with one idempotency key: one customer, every answer the same record", async () => {
    const rs = await race(() => admin.post("/v1/customers", { name: "幂等客户" }, { "idempotency-key": "race-key-1" }));
    const ok = rs.filter((r) => r.status === 201);
    // A copy that finds the first still in flight may be told to retry (409); none makes a second customer.
    expect(ok.length + rs.filter((r) => r.status === 409).length).toBe(N);
    expect(new Set(ok.map((r) => r.body.id)).size).toBe(1);
    const again = await admin.post("/v1/customers", { name: "幂等客户" }, { "idempotency-key": "race-key-1" });
    expect(again.body.id).toBe(ok[0]!.body.id);
    const found = (await admin.get(`/v1/customers?q=${encodeURIComponent("幂等客户")}&limit=50`)).body.items;
    expect(found).toHaveLength(1);
  });

  it("updates from one version: one 200, the others refused, the record at version 2", async () => {
    const c = await aCustomer();
    const rs = await race((i) =>
      admin.patch(`/v1/customers/${c.id}`, { industry: `行业${i}` }, { "if-match": `"${c.version}"` }),
    );
    expect(rs.filter((r) => r.status === 200)).toHaveLength(1);
    expect(rs.filter((r) => r.status !== 200).every((r) => r.status === 409 || r.status === 412)).toBe(true);
    const now = (await admin.get(`/v1/customers/${c.id}`)).body;
    expect(now.version).toBe(2);
    expect(now.industry).toBe(rs.find((r) => r.status === 200)!.body.industry);
  });

  it("primary contacts added at once: every contact kept, exactly one primary, the count right", async () => {
    const c = await aCustomer();
    const rs = await race((i) =>
      admin.post(`/v1/customers/${c.id}/contacts`, { name: `联系人${i}`, mobile: `1380000000${i}`, isPrimary: true }),
    );
    const made = rs.filter((r) => r.status === 201).length;
    expect(made).toBeGreaterThan(0);
    const contacts = (await admin.get(`/v1/customers/${c.id}/contacts?limit=50`)).body.items;
    expect(contacts).toHaveLength(made);
    expect(contacts.filter((x: { isPrimary?: boolean }) => x.isPrimary)).toHaveLength(1);
    expect((await admin.get(`/v1/customers/${c.id}`)).body.stats.contactCount).toBe(made);
  });

  it("one order approved many times: one 200, the customer's stats counted once", async () => {
    const c = await aCustomer();
    const o = (await admin.post("/v1/orders", { customerId: c.id, lines })).body;
    expect((await admin.post(`/v1/orders/${o.id}/submit`, {})).status).toBe(200);
    const rs = await race(() => admin.post(`/v1/orders/${o.id}/approve`, {}));
    expect(rs.filter((r) => r.status === 200)).toHaveLength(1);
    expect(rs.filter((r) => r.status !== 200).every((r) => r.status === 409)).toBe(true);
    const customer = (await admin.get(`/v1/customers/${c.id}`)).body;
    expect(customer.stats).toMatchObject({ orderCount: 1 });
  });

  it("payments of a fifth of an order each, eight at once: never more than the order is paid", async () => {
    const c = await aCustomer();
    const o = (await admin.post("/v1/orders", { customerId: c.id, lines })).body;
    for (const a of ["submit", "approve"]) expect((await admin.post(`/v1/orders/${o.id}/${a}`, {})).status).toBe(200);
    const rs = await race(() => admin.post(`/v1/orders/${o.id}/payments`, { amount: "20.00", method: "bank" }));
    const taken = rs.filter((r) => r.status === 201).length;
    expect(taken).toBeGreaterThan(0);
    expect(taken).toBeLessThanOrEqual(5);
    const order = (await admin.get(`/v1/orders/${o.id}`)).body;
    expect(order.payments).toHaveLength(taken);
    expect(Number(order.paidAmount)).toBe(taken * 20);
  });

  it("an order and a payment sent many times at once with one Idempotency-Key: one order, one payment", async () => {
    const c = await aCustomer();
    const key = { "idempotency-key": `race-order-${c.id}` };
    const orders = await race(() => admin.post("/v1/orders", { customerId: c.id, lines }, key));
    const made = orders.filter((r) => r.status === 201);
    expect(made.length + orders.filter((r) => r.status === 409).length).toBe(N);
    expect(new Set(made.map((r) => r.body.id)).size).toBe(1);
    const listed = (await admin.get(`/v1/orders?customerId=${c.id}`)).body.items;
    expect(listed).toHaveLength(1);
    const o = listed[0];
    for (const a of ["submit", "approve"]) expect((await admin.post(`/v1/orders/${o.id}/${a}`, {})).status).toBe(200);
    const pay = { "idempotency-key": `race-pay-${o.id}` };
    const paid = await race(() => admin.post(`/v1/orders/${o.id}/payments`, { amount: "20.00" }, pay));
    expect(paid.filter((r) => r.status === 201).length).toBeGreaterThan(0);
    const after = (await admin.get(`/v1/orders/${o.id}`)).body;
    expect(after.payments).toHaveLength(1);
    expect(after.paidAmount).toBe("20.00");
    // Copies told to retry (409) get the one payment when they do.
    const retry = await admin.post(`/v1/orders/${o.id}/payments`, { amount: "20.00" }, pay);
    expect(retry.status).toBe(201);
    expect(retry.body.payments).toHaveLength(1);
  });

  it("a customer deleted and restored many times at once: it ends in one state, audited once per change", async () => {
    const c = await aCustomer();
    const deleted = await race(() => admin.delete(`/v1/customers/${c.id}`));
    expect(deleted.filter((r) => r.status === 200)).toHaveLength(1);
    const restored = await race(() => admin.post(`/v1/customers/${c.id}/restore`));
    expect(restored.filter((r) => r.status === 200)).toHaveLength(1);
    expect((await admin.get(`/v1/customers/${c.id}`)).status).toBe(200);
    const audit = (await admin.get(`/v1/audit?entityId=${c.id}&limit=50`)).body.items;
    expect(audit.map((e: { action: string }) => e.action)).toEqual(["restore", "delete", "create"]);
  });

  it("departments with one id and settings from one version: one winner each", async () => {
    const depts = await race(() => admin.post("/v1/departments", { id: "race-d", name: "并发部门" }));
    expect(statuses(depts)).toEqual([201, ...Array(N - 1).fill(409)]);
    const s = (await admin.get("/v1/settings")).body;
    const rs = await race((i) =>
      admin.put("/v1/settings", { ...s, customerCodePattern: `R${i}{seq:4}`, updatedAt: undefined }),
    );
    expect(rs.filter((r) => r.status === 200)).toHaveLength(1);
  });

  it("a task edited from one version by several at once: one 200, the others 409", async () => {
    const c = await aCustomer();
    const dueAt = new Date(Date.now() + 86_400_000).toISOString();
    const t = (await admin.post("/v1/tasks", { customerId: c.id, title: "回访", dueAt })).body;
    const rs = await race((i) =>
      admin.patch(`/v1/tasks/${t.id}`, { title: `回访${i}` }, { "if-match": `"${t.version}"` }),
    );
    expect(statuses(rs)).toEqual([200, ...Array(N - 1).fill(409)]);
    const now = (await admin.get(`/v1/tasks/${t.id}`)).body;
    expect(now).toMatchObject({ version: t.version + 1, title: rs.find((r) => r.status === 200)!.body.title });
  });

  it("jobs started many times at once with one Idempotency-Key: one job each, and a later repeat finds it", async () => {
    await admin.post("/v1/classification/schemes", {
      id: "race-tier",
      name: "并发等级",
      rules: [{ value: "key", when: { field: "level", op: "eq", value: "A" } }],
      default: "other",
    });
    const starts: [string, unknown][] = [
      ["/v1/classification/schemes/race-tier/apply", {}],
      ["/v1/backups", {}],
      ["/v1/batch-updates", { filter: { level: "Z" }, patch: { level: "A" } }],
      ["/v1/users/u-race-a/handover", { toUserId: "u-race-b" }],
      ["/v1/reminder-rules/backfill", {}],
    ];
    for (const [path, body] of starts) {
      const key = { "idempotency-key": `race-job-${path}` };
      const rs = await race(() => admin.post(path, body, key));
      const started = rs.filter((r) => r.status === 202);
      expect(started.length + rs.filter((r) => r.status === 409).length, path).toBe(N);
      const ids = new Set(started.map((r) => r.body.jobId));
      expect(ids.size, path).toBe(1);
      const again = await admin.post(path, body, key);
      expect(again.status, path).toBe(202);
      expect(again.body.jobId, path).toBe([...ids][0]);
      expect((await admin.post(path, { ...(body as object), other: 1 }, key)).status, path).toBeGreaterThanOrEqual(400);
    }
    // Imports (201, with the upload link) and exports (202) answer with the job as `id`.
    for (const [path, body, status] of [
      ["/v1/imports", { entity: "customers", mode: "upsert" }, 201],
      ["/v1/exports", { entity: "customers", format: "csv" }, 202],
    ] as const) {
      const key = { "idempotency-key": `race-job-${path}` };
      const rs = await race(() => admin.post(path, body, key));
      const started = rs.filter((r) => r.status === status);
      expect(started.length + rs.filter((r) => r.status === 409).length, path).toBe(N);
      expect(new Set(started.map((r) => r.body.id)).size, path).toBe(1);
      const again = await admin.post(path, body, key);
      expect(again.body, path).toEqual(started[0]!.body);
    }
    // Only the one job of each start exists (the creator's jobs of the five types, newest first).
    const log = await admin.get("/v1/audit?userId=u-race-admin&limit=200");
    expect(log.status, log.text).toBe(200);
    const audit = log.body.items.filter(
      (e: { entityType: string; action: string }) => e.entityType === "job" && e.action === "create",
    );
    const byType = new Map<string, number>();
    for (const e of audit) byType.set(e.after.type, (byType.get(e.after.type) ?? 0) + 1);
    expect(Object.fromEntries(byType)).toMatchObject({
      classify: 1,
      backup: 1,
      "batch-update": 1,
      handover: 1,
      "reminder-index": 1,
      import: 1,
      export: 1,
    });
  });
});
