// Imports and exports over HTTP against the local runtime, as a frontend uses them: start an import, PUT the file to
// the presigned URL (s3rver -> S3 event -> imports queue -> jobs queue -> worker), follow its progress, download
// the error report; drop a file under imports/<tenant>/; export within one's data scope, masked; bad input and
// other tenants.
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { api, mintToken, uniqueTenant } from "../support/http.ts";

type Api = ReturnType<typeof api>;
let tenant: string;
let admin: Api;
let service: Api;
let viewer: Api;
let stranger: Api;

beforeAll(async () => {
  tenant = uniqueTenant("imp");
  admin = api(await mintToken({ tenant, sub: "u-imp-admin", roles: ["admin"], dept: "d1" }));
  service = api(await mintToken({ tenant, sub: "u-imp-svc", roles: ["service"], dept: "d2" }));
  viewer = api(await mintToken({ tenant, sub: "u-imp-viewer", roles: ["viewer"], dept: "d1" }));
  stranger = api(await mintToken({ tenant: uniqueTenant("other"), sub: "u-x", roles: ["admin"] }));
});

/** Polls until the job has finished (a bounded number of reads; no assertion on time). */
async function waitFor(client: Api, path: string) {
  for (let i = 0; i < 600; i++) {
    const res = await client.get(path);
    expect(res.status).toBe(200);
    if (res.body.status === "succeeded" || res.body.status === "failed") return res.body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${path} did not finish`);
}

const problemJson = (res: { headers: Headers }) =>
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);

describe("imports over HTTP", () => {
  it("POST /v1/imports gives an upload URL; the uploaded file is imported and its progress and error report shown", async () => {
    const started = await admin.post("/v1/imports", { entity: "customers", mode: "upsert", matchOn: "code" });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ id: expect.any(String), uploadUrl: expect.any(String), status: "queued" });
    const waiting = await admin.get(`/v1/imports/${started.body.id}`);
    expect(waiting.body).toMatchObject({ status: "queued", awaitingUpload: true });

    const csv = "\ufeff客户编码,客户名称,联系电话\r\nE-1,杭州上城贸易,0571-87001234\r\nE-2,,0571-87001235\r\n";
    const put = await fetch(started.body.uploadUrl, { method: "PUT", body: csv });
    expect(put.status).toBe(200);

    const done = await waitFor(admin, `/v1/imports/${started.body.id}`);
    expect(done).toMatchObject({
      status: "succeeded",
      processed: 2,
      total: 2,
      percent: 100,
      counts: { inserted: 1, updated: 0, skipped: 0, failed: 1 },
      encoding: "utf-8",
      errorReportUrl: expect.any(String),
      params: { entity: "customers", mode: "upsert", matchOn: "code", dryRun: false },
    });
    expect(done.params.key).toBeUndefined();
    const report = await (await fetch(done.errorReportUrl)).text();
    expect(report).toContain("3,客户名称,required,E-2,,0571-87001235");

    const job = await admin.get(`/v1/jobs/${started.body.id}`);
    expect(job.status).toBe(200);
    expect(job.body).toMatchObject({
      status: "succeeded",
      processed: 2,
      total: 2,
      percent: 100,
      counts: { failed: 1 },
    });

    const list = await admin.get("/v1/imports?limit=5");
    expect(list.status).toBe(200);
    expect(list.body.items.map((i: { id: string }) => i.id)).toContain(started.body.id);
    const found = await admin.get("/v1/customers?q=E-1");
    expect(found.body.items.map((c: { code: string }) => c.code)).toEqual(["E-1"]);
  });

  it("a file dropped under imports/<tenantId>/ is imported as a customer upsert by the import service user", async () => {
    const s3 = new S3Client({
      forcePathStyle: true,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    const key = `imports/${tenant}/客户 drop (1).csv`;
    await s3.send(
      new PutObjectCommand({ Bucket: inject("local").uploadsBucket, Key: key, Body: "code,name\nDROP-1,投放客户\n" }),
    );
    let id: string | undefined;
    for (let i = 0; i < 300 && !id; i++) {
      const list = await admin.get("/v1/imports?limit=50");
      id = list.body.items.find(
        (j: { params: { fileName?: string } }) => j.params.fileName === "客户 drop (1).csv",
      )?.id;
      if (!id) await new Promise((r) => setTimeout(r, 100));
    }
    expect(id).toBeDefined();
    const done = await waitFor(admin, `/v1/imports/${id}`);
    expect(done).toMatchObject({
      status: "succeeded",
      createdBy: "svc-import",
      counts: { inserted: 1 },
      params: { mode: "upsert", source: "s3-drop" },
    });
  });

  it("refuses bad input with problem+json, a viewer's import with 403, and hides imports of others", async () => {
    for (const body of [
      { entity: "widgets" },
      { entity: "customers", mode: "merge" },
      { entity: "customers", matchOn: "id" },
      { entity: "customers", extra: 1 },
      { entity: "customers", mapping: { 列: "bad field!" } },
      { entity: "customers", mapping: { 列: "salary" } },
      { entity: "customers", dryRun: "yes" },
    ]) {
      const res = await admin.post("/v1/imports", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      problemJson(res);
    }
    const notJson = await admin.raw("POST", "/v1/imports", { body: "x", headers: { "content-type": "text/csv" } });
    expect(notJson.status).toBe(415);
    expect((await viewer.post("/v1/imports", { entity: "customers" })).status).toBe(403);

    const mine = await admin.post("/v1/imports", { entity: "customers" });
    expect((await stranger.get(`/v1/imports/${mine.body.id}`)).status).toBe(404);
    expect((await service.get(`/v1/imports/${mine.body.id}`)).status).toBe(404);
    expect((await admin.get("/v1/imports/not-an-id")).status).toBe(404);
    const theirs = await stranger.get("/v1/imports");
    expect(theirs.body.items).toEqual([]);
    expect((await admin.get("/v1/imports?limit=0")).status).toBe(400);
    expect((await admin.get("/v1/imports?cursor=forged")).status).toBe(400);
  });

  it("serves a template per entity", async () => {
    const res = await admin.get("/v1/imports/templates/customers");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/csv/);
    // (fetch's text() drops the BOM; the unit tests check it is there.)
    expect(res.text.replace(/^\ufeff/, "").startsWith("客户编码(code),客户名称(name)")).toBe(true);
    expect((await admin.get("/v1/imports/templates/widgets")).status).toBe(404);
    expect((await admin.get("/v1/imports/templates/customers?format=pdf")).status).toBe(400);
  });

  it("serves an XLSX template whose sheet imports back: filled in, it is an import like any other", async () => {
    const res = await fetch(`${inject("local").baseUrl}/v1/imports/templates/contacts?format=xlsx`, {
      headers: { authorization: `Bearer ${await mintToken({ tenant, sub: "u-imp-admin", roles: ["admin"] })}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    expect(res.headers.get("content-disposition")).toContain("contacts-template.xlsx");
    const book = Buffer.from(await res.arrayBuffer());
    expect(book.subarray(0, 4)).toEqual(Buffer.from([0x50, 0x4b, 0x03, 0x04]));

    // The empty template imported as it is: a header and no data rows, so the file fails with that reason, having
    // found every column (a template the import could not read would fail on its header instead).
    const started = await admin.post("/v1/imports", { entity: "contacts" });
    expect((await fetch(started.body.uploadUrl, { method: "PUT", body: book })).status).toBe(200);
    const done = await waitFor(admin, `/v1/imports/${started.body.id}`);
    expect(done).toMatchObject({ status: "failed", format: "xlsx", sheet: "联系人", ignoredColumns: [] });
    expect(done.failureReason).toMatch(/no data rows/);
  });
});

describe("exports over HTTP", () => {
  it("exports what the caller may see, masked as the API shows it, as a CSV behind a download URL", async () => {
    const mine = await admin.post("/v1/customers", { name: "总部客户", code: "X-ADM", phone: "021-58881234" });
    expect(mine.status).toBe(201);
    const theirs = await service.post("/v1/customers", { name: "华南客户", code: "X-SVC", phone: "020-38881234" });
    expect(theirs.status).toBe(201);

    const started = await service.post("/v1/exports", { entity: "customers", format: "csv" });
    expect(started.status).toBe(202);
    const done = await waitFor(service, `/v1/exports/${started.body.id}`);
    expect(done).toMatchObject({ status: "succeeded", counts: { exported: 1 }, downloadUrl: expect.any(String) });
    const csv = await (await fetch(done.downloadUrl)).text();
    const lines = csv
      .replace(/^\ufeff/, "")
      .trim()
      .split("\r\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^客户编码\(code\),客户名称\(name\)/);
    expect(lines[1]).toContain("X-SVC,华南客户");
    expect(lines[1]).toContain("020-****1234");
    expect(lines[1]).not.toContain("020-38881234");

    const all = await admin.post("/v1/exports", { entity: "customers", filter: { level: undefined } });
    const adminDone = await waitFor(admin, `/v1/exports/${all.body.id}`);
    const adminCsv = await (await fetch(adminDone.downloadUrl)).text();
    expect(adminCsv).toContain("021-58881234");
    expect(adminCsv).toContain("X-SVC");

    expect((await stranger.get(`/v1/exports/${started.body.id}`)).status).toBe(404);
    expect((await admin.post("/v1/exports", { entity: "customers", format: "pdf" })).status).toBe(400);
    expect((await admin.post("/v1/exports", { entity: "customers", filter: { bogus: 1 } })).status).toBe(400);
    const listed = await service.get("/v1/exports");
    expect(listed.body.items.map((j: { id: string }) => j.id)).toEqual([started.body.id]);
  });
});

describe("contact and order exports over HTTP", () => {
  /** The data rows of a finished export's CSV. */
  async function csvRows(done: { downloadUrl: string }) {
    const text = await (await fetch(done.downloadUrl)).text();
    const [header, ...rows] = text
      .replace(/^\ufeff/, "")
      .trim()
      .split("\r\n");
    return { header: header!, rows };
  }

  it("exports the contacts and the orders (a row per line) of the customers the caller may see; contacts masked; orders import back", async () => {
    const mine = await admin.post("/v1/customers", { name: "导出联系人客户", code: "XC-ADM" });
    const theirs = await service.post("/v1/customers", { name: "服务联系人客户", code: "XC-SVC" });
    expect([mine.status, theirs.status]).toEqual([201, 201]);
    for (const [client, id, name, mobile] of [
      [admin, mine.body.id, "总部联系人", "13800138000"],
      [service, theirs.body.id, "王经理", "13900139000"],
      [service, theirs.body.id, "李总", "13700137000"],
    ] as const) {
      expect((await client.post(`/v1/customers/${id}/contacts`, { name, mobile })).status).toBe(201);
    }
    for (const id of [mine.body.id, theirs.body.id]) {
      const lines = [
        { sku: "A-1", name: "螺丝", quantity: 2, unitPrice: "10.50" },
        { sku: "B-2", name: "螺母", quantity: 5, unitPrice: "1.20" },
      ];
      expect((await admin.post("/v1/orders", { customerId: id, lines })).status).toBe(201);
    }

    const contacts = await service.post("/v1/exports", { entity: "contacts" });
    expect(contacts.status).toBe(202);
    const contactsDone = await waitFor(service, `/v1/exports/${contacts.body.id}`);
    expect(contactsDone).toMatchObject({ status: "succeeded", counts: { exported: 2 } });
    const c = await csvRows(contactsDone);
    expect(c.header).toMatch(/^客户编码\(customerCode\),联系人\(name\)/);
    expect(c.rows.map((r) => r.split(",").slice(0, 2).join(",")).sort()).toEqual(["XC-SVC,李总", "XC-SVC,王经理"]);
    expect(c.rows.join("\n")).not.toContain("13900139000");
    expect(c.rows.join("\n")).toContain("****");
    const adminContacts = await csvRows(
      await waitFor(admin, `/v1/exports/${(await admin.post("/v1/exports", { entity: "contacts" })).body.id}`),
    );
    expect(adminContacts.rows.join("\n")).toContain("13800138000");
    expect(adminContacts.rows.join("\n")).toContain("13900139000");

    const orders = await service.post("/v1/exports", { entity: "orders" });
    const ordersDone = await waitFor(service, `/v1/exports/${orders.body.id}`);
    expect(ordersDone).toMatchObject({ status: "succeeded", counts: { exported: 2 } });
    const o = await csvRows(ordersDone);
    expect(o.header).toMatch(/^订单号\(orderNo\),客户编码\(customerCode\)/);
    expect(o.rows.every((r) => r.includes(",XC-SVC,"))).toBe(true);
    expect(o.rows.some((r) => r.includes("螺丝") && r.includes("10.50"))).toBe(true);
    expect(o.rows.some((r) => r.includes("螺母") && r.includes("1.20"))).toBe(true);

    // The orders file imports back as orders: the order exists, so nothing is inserted twice.
    const back = await admin.post("/v1/imports", { entity: "orders", mode: "insert" });
    const file = await (await fetch(ordersDone.downloadUrl)).arrayBuffer();
    expect((await fetch(back.body.uploadUrl, { method: "PUT", body: Buffer.from(file) })).status).toBe(200);
    expect(await waitFor(admin, `/v1/imports/${back.body.id}`)).toMatchObject({
      status: "succeeded",
      counts: { inserted: 0, failed: 0 },
      ignoredColumns: ["订单ID(id)", "收款状态(paymentStatus)", "退货数量(returnedQuantity)"],
    });

    const xlsx = await admin.post("/v1/exports", { entity: "orders", format: "xlsx" });
    const xlsxDone = await waitFor(admin, `/v1/exports/${xlsx.body.id}`);
    expect(xlsxDone).toMatchObject({ status: "succeeded", counts: { exported: 4 } });
    expect(decodeURIComponent(xlsxDone.downloadUrl)).toContain(`orders-${xlsx.body.id}.xlsx`);
    expect((await admin.post("/v1/exports", { entity: "interactions" })).status).toBe(400);

    // An orders export's own filter: status and creation time, as GET /v1/orders takes them.
    const exported = async (orderFilter: Record<string, string>) => {
      const res = await service.post("/v1/exports", { entity: "orders", orderFilter });
      expect(res.status).toBe(202);
      return (await waitFor(service, `/v1/exports/${res.body.id}`)).counts.exported;
    };
    expect(await exported({ status: "draft" })).toBe(2);
    expect(await exported({ status: "approved" })).toBe(0);
    expect(await exported({ from: "2020-01-01T00:00:00Z", to: "2999-01-01T00:00:00Z" })).toBe(2);
    expect(await exported({ from: "2999-01-01T00:00:00Z" })).toBe(0);
    const misplaced = await admin.post("/v1/exports", { entity: "contacts", orderFilter: { status: "draft" } });
    expect(misplaced.status).toBe(400);
    problemJson(misplaced);
    expect((await admin.post("/v1/exports", { entity: "orders", orderFilter: { from: "yesterday" } })).status).toBe(
      400,
    );
  });
});

describe("batch updates over HTTP", () => {
  it("starts a job whose progress GET /v1/jobs/{id} shows; refuses bad input and a viewer", async () => {
    const made = await admin.post("/v1/customers", { name: "批量更新客户", industry: "化工-批量" });
    expect(made.status).toBe(201);
    const started = await admin.post("/v1/batch-updates", { filter: { industry: "化工-批量" }, patch: { level: "A" } });
    expect(started.status).toBe(202);
    const done = await waitFor(admin, `/v1/jobs/${started.body.jobId}`);
    expect(done).toMatchObject({ status: "succeeded", counts: { updated: 1 } });
    expect((await admin.get(`/v1/customers/${made.body.id}`)).body.level).toBe("A");

    const bad = await admin.post("/v1/batch-updates", { patch: { name: "x" } });
    expect(bad.status).toBe(400);
    problemJson(bad);
    expect((await viewer.post("/v1/batch-updates", { patch: { level: "A" } })).status).toBe(403);
  });
});
