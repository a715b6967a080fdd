// Order imports over HTTP against the local runtime, as a frontend uses them: the orders template, a started import
// whose file is PUT to the presigned URL (s3rver -> S3 event -> imports queue -> jobs queue -> worker), then the
// customer's orders, stats and category as the API shows them right after the job; bad input.
import { beforeAll, describe, expect, it } from "vitest";
import { api, mintToken, uniqueTenant } from "../support/http.ts";

type Api = ReturnType<typeof api>;
let admin: Api;

beforeAll(async () => {
  admin = api(await mintToken({ tenant: uniqueTenant("oimp"), sub: "u-oimp-admin", roles: ["admin"], dept: "d1" }));
});

/** Polls until the job has finished (a bounded number of reads; no assertion on time). */
async function waitFor(path: string) {
  for (let i = 0; i < 600; i++) {
    const res = await admin.get(path);
    expect(res.status).toBe(200);
    if (res.body.status === "succeeded" || res.body.status === "failed") return res.body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${path} did not finish`);
}

describe("order imports over HTTP", () => {
  it("serves the orders template and refuses a match key orders do not have", async () => {
    const t = await admin.get("/v1/imports/templates/orders");
    expect(t.status).toBe(200);
    expect(t.text.replace(/^\ufeff/, "").split("\r\n")[0]).toBe(
      "订单号(orderNo),客户编码(customerCode),统一社会信用代码(uscc),客户名称(customerName),订单日期(orderDate)," +
        "状态(status),产品编码(sku),产品名称(product),数量(quantity),单价(unitPrice),金额(amount),币种(currency),备注(note)",
    );
    const bad = await admin.post("/v1/imports", { entity: "orders", matchOn: "uscc" });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(JSON.stringify(bad.body)).toMatch(/order number/);
  });

  it("imports orders from an uploaded file; the customer's orders, stats and category show them right after", async () => {
    const customer = await admin.post("/v1/customers", { name: "嘉兴南湖纺织", code: "EO-1" });
    expect(customer.status).toBe(201);
    const id = customer.body.id as string;

    const started = await admin.post("/v1/imports", { entity: "orders", mode: "upsert" });
    expect(started.status).toBe(201);
    const csv =
      "\ufeff订单号,客户编码,订单日期,状态,产品名称,数量,单价\r\n" +
      "EO-PO-1,EO-1,2026-05-20,已审批,棉纱,100,12.30\r\n" +
      "EO-PO-1,EO-1,2026-05-20,已审批,涤纶,50,8.00\r\n" +
      "EO-PO-2,EO-404,2026-05-21,已审批,棉纱,1,12.30\r\n";
    expect((await fetch(started.body.uploadUrl, { method: "PUT", body: csv })).status).toBe(200);

    const done = await waitFor(`/v1/imports/${started.body.id}`);
    expect(done).toMatchObject({
      status: "succeeded",
      processed: 3,
      counts: { inserted: 2, updated: 0, skipped: 0, failed: 1 },
      params: { entity: "orders" },
      errorReportUrl: expect.any(String),
    });
    expect(done.errors).toEqual([
      { id: "row 4", message: "客户编码: no customer with code EO-404 (or not yours to see)" },
    ]);

    const orders = await admin.get(`/v1/orders?customerId=${id}`);
    expect(orders.body.items).toHaveLength(1);
    expect(orders.body.items[0]).toMatchObject({ code: "EO-PO-1", status: "approved", amount: "1630.00" });
    const c = await admin.get(`/v1/customers/${id}`);
    expect(c.body.stats).toMatchObject({ orderCount: 1, totalAmount: "1630.00", receivable: "1630.00" });
    expect(c.body.categories).toMatchObject({ loyalty: "new" });
    const listed = await admin.get(`/v1/customers?category=${encodeURIComponent("loyalty:new")}`);
    expect(listed.body.items.map((x: { id: string }) => x.id)).toEqual([id]);

    // The same file again: nothing new.
    const again = await admin.post("/v1/imports", { entity: "orders" });
    await fetch(again.body.uploadUrl, { method: "PUT", body: csv });
    expect(await waitFor(`/v1/imports/${again.body.id}`)).toMatchObject({
      counts: { inserted: 0, updated: 0, skipped: 2, failed: 1 },
    });
    expect((await admin.get(`/v1/customers/${id}`)).body.stats).toMatchObject({ orderCount: 1 });
  });
});
