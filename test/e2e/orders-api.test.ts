// Orders over HTTP against the local runtime: the life cycle, payments, stats on the customer, bad input, tenants.
import { beforeAll, describe, expect, it } from "vitest";
import { api, mintToken, uniqueTenant } from "../support/http.ts";

type Api = ReturnType<typeof api>;
let admin: Api;
let sales: Api;
let otherSales: Api;
let stranger: Api;

beforeAll(async () => {
  const tenant = uniqueTenant("ord");
  admin = api(await mintToken({ tenant, sub: "u-admin", roles: ["admin"], dept: "d1" }));
  sales = api(await mintToken({ tenant, sub: "u-sales", roles: ["sales"], dept: "d1" }));
  otherSales = api(await mintToken({ tenant, sub: "u-sales2", roles: ["sales"], dept: "d1" }));
  stranger = api(await mintToken({ tenant: uniqueTenant("other"), sub: "u-x", roles: ["admin"] }));
});

const expectProblem = (res: { status: number; headers: Headers; body: any }, status: number) => {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
};

async function aCustomer(client: Api, extra: Record<string, unknown> = {}) {
  const res = await client.post("/v1/customers", { name: "杭州订单测试有限公司", ...extra });
  expect(res.status).toBe(201);
  return res.body;
}

const lines = [
  { sku: "A-1", name: "螺丝", quantity: 3, unitPrice: "19.99" },
  { sku: "B-2", name: "螺母", quantity: 10, unitPrice: "0.10" },
];

describe("an order's life over HTTP", () => {
  it("drafts, edits, submits, approves, ships, takes payments and returns part, keeping the customer's stats", async () => {
    const c = await aCustomer(sales);
    const created = await sales.post("/v1/orders", { customerId: c.id, lines, note: "首单" });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const o = created.body;
    expect(o).toMatchObject({ status: "draft", amount: "60.97", version: 1, paymentStatus: "unpaid" });
    expect(o.code).toMatch(/^SO\d{4}\d{6}$/);
    expect(o.lines[0]).toMatchObject({ unitPrice: "19.99", amount: "59.97" });

    expect((await sales.get(`/v1/orders/${o.id}`)).body.amount).toBe("60.97");
    const edited = await sales.patch(
      `/v1/orders/${o.id}`,
      { lines: [...lines, { sku: "C-3", name: "垫片", quantity: 1, unitPrice: "39.03" }] },
      { "if-match": '"1"' },
    );
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect(edited.body.amount).toBe("100.00");
    expectProblem(await sales.patch(`/v1/orders/${o.id}`, { note: "x" }, { "if-match": '"1"' }), 409);

    expect((await sales.post(`/v1/orders/${o.id}/submit`)).body.status).toBe("submitted");
    expectProblem(await sales.post(`/v1/orders/${o.id}/ship`), 409);
    const approved = await sales.post(`/v1/orders/${o.id}/approve`);
    expect(approved.body).toMatchObject({ status: "approved", balance: "100.00", overdue: false });
    expect(approved.body.dueAt).toBeDefined();
    expectProblem(await sales.patch(`/v1/orders/${o.id}`, { note: "x" }, { "if-match": '"4"' }), 409);

    const paid = await sales.post(`/v1/orders/${o.id}/payments`, { amount: "30.00", method: "bank" });
    expect(paid.status, JSON.stringify(paid.body)).toBe(201);
    expect(paid.body).toMatchObject({ paymentStatus: "partial", paidAmount: "30.00", balance: "70.00" });
    expectProblem(await sales.post(`/v1/orders/${o.id}/payments`, { amount: "70.01" }), 422);
    expectProblem(await sales.post(`/v1/orders/${o.id}/payments`, { amount: "1.005" }), 400);

    expect((await sales.post(`/v1/orders/${o.id}/ship`)).body.status).toBe("shipped");
    expectProblem(await sales.post(`/v1/orders/${o.id}/cancel`), 409);
    const part = await sales.post(`/v1/orders/${o.id}/return`, { lines: [{ sku: "B-2", quantity: 4 }] });
    expect(part.body).toMatchObject({ status: "partially_returned", returnedAmount: "0.40", balance: "69.60" });
    expectProblem(await sales.post(`/v1/orders/${o.id}/return`, { lines: [{ sku: "B-2", quantity: 7 }] }), 422);
    const history = part.body.history.map((h: any) => `${h.action}:${h.to}`);
    expect(history).toEqual([
      "create:draft",
      "submit:submitted",
      "approve:approved",
      "ship:shipped",
      "return:partially_returned",
    ]);

    const customer = (await sales.get(`/v1/customers/${c.id}`)).body;
    expect(customer.stats).toMatchObject({
      orderCount: 1,
      totalAmount: "100.00",
      returnedAmount: "0.40",
      paidAmount: "30.00",
      receivable: "69.60",
      netAmount: "99.60",
    });
    expect(customer.stats.firstOrderAt).toBe(approved.body.approvedAt);

    const view = (await sales.get(`/v1/customers/${c.id}/360`)).body;
    expect(view.orders.map((x: any) => x.id)).toEqual([o.id]);
    expect(view.receivables).toMatchObject({ balance: "69.60", overdueAmount: "0.00" });

    const audit = await admin.get(`/v1/audit?entityId=${o.id}`);
    expect(audit.body.items.length).toBe(7);
  });

  it("lists orders by customer and status, and a sales user sees only its customers' orders", async () => {
    const mine = await aCustomer(sales);
    const theirs = await aCustomer(otherSales);
    const a = (await sales.post("/v1/orders", { customerId: mine.id, lines })).body;
    const b = (await sales.post("/v1/orders", { customerId: mine.id, lines })).body;
    await sales.post(`/v1/orders/${b.id}/submit`);
    const t = (await otherSales.post("/v1/orders", { customerId: theirs.id, lines })).body;

    const byCustomer = await sales.get(`/v1/orders?customerId=${mine.id}`);
    expect(byCustomer.body.items.map((x: any) => x.id)).toEqual([b.id, a.id]);
    const submitted = await sales.get(`/v1/orders?customerId=${mine.id}&status=submitted`);
    expect(submitted.body.items.map((x: any) => x.id)).toEqual([b.id]);
    const all = (await sales.get("/v1/orders?limit=200")).body.items.map((x: any) => x.id);
    expect(all).toContain(a.id);
    expect(all).not.toContain(t.id);
    const adminAll = (await admin.get("/v1/orders?limit=200")).body.items.map((x: any) => x.id);
    expect(adminAll).toEqual(expect.arrayContaining([a.id, b.id, t.id]));

    expectProblem(await sales.get(`/v1/orders/${t.id}`), 404);
    expectProblem(await sales.post(`/v1/orders/${t.id}/submit`), 404);
    expectProblem(await sales.get(`/v1/orders?customerId=${theirs.id}`), 404);
    expectProblem(await sales.post("/v1/orders", { customerId: theirs.id, lines }), 404);
  });

  it("refuses an approval over the credit limit unless a manager or admin approves", async () => {
    const c = await aCustomer(sales, { customFields: { creditLimit: "100.00", paymentTermsDays: 10 } });
    const o = (await sales.post("/v1/orders", { customerId: c.id, lines })).body; // 60.97
    const p = (await sales.post("/v1/orders", { customerId: c.id, lines })).body;
    await sales.post(`/v1/orders/${o.id}/submit`);
    await sales.post(`/v1/orders/${p.id}/submit`);
    const first = await sales.post(`/v1/orders/${o.id}/approve`);
    expect(first.status).toBe(200);
    expect(Date.parse(first.body.dueAt) - Date.parse(first.body.approvedAt)).toBe(10 * 86_400_000);
    const refused = await sales.post(`/v1/orders/${p.id}/approve`);
    expectProblem(refused, 422);
    expect(refused.body.detail).toContain("credit limit");
    expect((await sales.get(`/v1/orders/${p.id}`)).body.status).toBe("submitted");
    const overridden = await admin.post(`/v1/orders/${p.id}/approve`);
    expect(overridden.status).toBe(200);
    expect(overridden.body.history.at(-1).reason).toContain("overridden");
  });

  it("cancel after approval reverses the booking; reject and cancel are final", async () => {
    const c = await aCustomer(sales);
    const o = (await sales.post("/v1/orders", { customerId: c.id, lines })).body;
    await sales.post(`/v1/orders/${o.id}/submit`);
    await sales.post(`/v1/orders/${o.id}/approve`);
    expect((await sales.post(`/v1/orders/${o.id}/cancel`)).body.status).toBe("cancelled");
    expectProblem(await sales.post(`/v1/orders/${o.id}/submit`), 409);
    const stats = (await sales.get(`/v1/customers/${c.id}`)).body.stats;
    expect(stats).toMatchObject({ orderCount: 0, totalAmount: "0.00", receivable: "0.00" });
    const r = (await sales.post("/v1/orders", { customerId: c.id, lines })).body;
    await sales.post(`/v1/orders/${r.id}/submit`);
    expect((await sales.post(`/v1/orders/${r.id}/reject`, { reason: "价格不对" })).body.status).toBe("rejected");
    expectProblem(await sales.post(`/v1/orders/${r.id}/approve`), 409);
    expectProblem(await sales.post(`/v1/orders/${r.id}/fly`), 404);
  });

  it("refuses bad input with problem+json and changes nothing", async () => {
    const c = await aCustomer(sales);
    const bad = [
      { customerId: c.id, lines: [{ sku: "A", name: "a", quantity: -1, unitPrice: "1.00" }] },
      { customerId: c.id, lines: [{ sku: "A", name: "a", quantity: 1.5, unitPrice: "1.00" }] },
      { customerId: c.id, lines: [{ sku: "A", name: "a", quantity: 1, unitPrice: "1.005" }] },
      { customerId: c.id, lines: [{ sku: "A", name: "a", quantity: 1, unitPrice: "-1.00" }] },
      { customerId: c.id, lines: [{ sku: "A", name: "a", quantity: 1, unitPrice: 1 }] },
      { customerId: c.id, lines: [] },
      {
        customerId: c.id,
        lines: Array.from({ length: 201 }, (_, i) => ({ sku: `S${i}`, name: "x", quantity: 1, unitPrice: "1" })),
      },
      { customerId: c.id, lines: [lines[0], lines[0]] },
      { customerId: c.id, lines, extra: true },
    ];
    for (const body of bad) expectProblem(await sales.post("/v1/orders", body), 400);
    expectProblem(await sales.post("/v1/orders", { customerId: "01ARZ3NDEKTSV4RRFFQ69G5FAV", lines }), 404);
    expect((await sales.get(`/v1/orders?customerId=${c.id}`)).body.items).toEqual([]);
    expectProblem(await sales.get("/v1/orders/nope"), 404);
  });

  it("replays an order create and a payment sent again with the same Idempotency-Key: one order, one payment, one number", async () => {
    const c = await aCustomer(sales);
    const body = { customerId: c.id, lines, note: "重发" };
    const first = await sales.post("/v1/orders", body, { "idempotency-key": `order-${c.id}` });
    expect(first.status).toBe(201);
    const again = await sales.post("/v1/orders", body, { "idempotency-key": `order-${c.id}` });
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body).toEqual(first.body);
    expectProblem(
      await sales.post("/v1/orders", { ...body, note: "别的" }, { "idempotency-key": `order-${c.id}` }),
      422,
    );
    const listed = (await sales.get(`/v1/orders?customerId=${c.id}`)).body.items;
    expect(listed.map((o: { id: string }) => o.id)).toEqual([first.body.id]);
    // The next order takes the next number: the replay took none.
    const next = (await sales.post("/v1/orders", body)).body;
    const seq = (code: string) => Number(code.match(/(\d+)$/)![1]);
    expect(seq(next.code)).toBe(seq(first.body.code) + 1);

    const o = first.body;
    for (const a of ["submit", "approve"]) expect((await admin.post(`/v1/orders/${o.id}/${a}`, {})).status).toBe(200);
    const pay = { amount: "10.00", method: "bank" };
    const key = { "idempotency-key": `pay-${o.id}` };
    const paid = await sales.post(`/v1/orders/${o.id}/payments`, pay, key);
    expect(paid.status).toBe(201);
    const replayed = await sales.post(`/v1/orders/${o.id}/payments`, pay, key);
    expect(replayed.status).toBe(201);
    expect(replayed.headers.get("idempotent-replayed")).toBe("true");
    expect(replayed.body).toEqual(paid.body);
    // The same key on another order's payment is another request: refused, not replayed onto it.
    expectProblem(await sales.post(`/v1/orders/${next.id}/payments`, pay, key), 422);
    const now = (await sales.get(`/v1/orders/${o.id}`)).body;
    expect(now.payments).toHaveLength(1);
    expect(now.paidAmount).toBe("10.00");
    expect((await sales.get(`/v1/customers/${c.id}`)).body.stats).toMatchObject({ paidAmount: "10.00" });
  });

  it("never shows one tenant's orders to another", async () => {
    const c = await aCustomer(admin);
    const o = (await admin.post("/v1/orders", { customerId: c.id, lines })).body;
    expectProblem(await stranger.get(`/v1/orders/${o.id}`), 404);
    expectProblem(await stranger.post(`/v1/orders/${o.id}/submit`), 404);
    expectProblem(await stranger.post("/v1/orders", { customerId: c.id, lines }), 404);
    expect((await stranger.get("/v1/orders")).body.items).toEqual([]);
  });
});

describe("sales reports over HTTP", () => {
  it("serves the sales report and top customers, and refuses bad queries", async () => {
    const c = await aCustomer(admin, { industry: "报表" });
    const o = (await admin.post("/v1/orders", { customerId: c.id, lines })).body;
    await admin.post(`/v1/orders/${o.id}/submit`);
    await admin.post(`/v1/orders/${o.id}/approve`);
    const report = await admin.get("/v1/reports/sales?groupBy=industry");
    expect(report.status, JSON.stringify(report.body)).toBe(200);
    expect(report.body.rows.find((r: any) => r.group === "报表")).toMatchObject({ revenue: "60.97", orderCount: 1 });
    const top = await admin.get("/v1/reports/top-customers?limit=5");
    expect(top.status).toBe(200);
    expect(top.body.items.map((i: any) => i.customerId)).toContain(c.id);
    expectProblem(await admin.get("/v1/reports/sales?groupBy=color"), 400);
    expectProblem(await admin.get("/v1/reports/sales?from=2026-13"), 400);
    expectProblem(await admin.get("/v1/reports/sales?from=2020-01&to=2026-01"), 400);
    expect((await stranger.get("/v1/reports/top-customers")).body.items).toEqual([]);
  });
});
