// Order imports against DynamoDB Local and s3rver, run by the jobs worker handler: Chinese headers in UTF-8, GBK and
// XLSX, one row per line grouped by order number, row errors in the report, the customer's stats and categories
// right after the job (compared with the same order made through the orders API), replays, crashes mid-chunk,
// dry runs, upserts of drafts and the importer's data scope.
import { describe, expect, it, vi } from "vitest";
import type { Caller } from "../../shared/auth/claims.ts";
import { queryAudit } from "../../shared/domain/audit/audit.ts";
import { getCustomer } from "../../shared/domain/customers/service.ts";
import { CHUNK_ROWS } from "../../shared/domain/imports/runner.ts";
import { readImport } from "../../shared/domain/imports/service.ts";
import { getJobItem } from "../../shared/domain/jobs/repository.ts";
import { TIME_RESERVE_MS } from "../../shared/domain/jobs/progress.ts";
import { actOnOrder, listOrders } from "../../shared/domain/orders/service.ts";
import { OrderListQuerySchema } from "../../shared/domain/orders/schemas.ts";
import { aCaller } from "../support/builders.ts";
import { aSheet, anImport, fakeContext, PLENTY, runToEnd, sqsEvent, toGbk } from "../support/import-jobs.ts";
import { newCustomer, newOrder } from "../support/orders.ts";

/** Lets a test make the n-th order insert of the process fail, as a worker killed mid-chunk would. */
const hooks = vi.hoisted(() => ({ beforeInsert: undefined as undefined | (() => void) }));
vi.mock("../../shared/domain/orders/repository.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../shared/domain/orders/repository.ts")>();
  return {
    ...real,
    insertOrder: async (...args: Parameters<typeof real.insertOrder>) => {
      hooks.beforeInsert?.();
      return real.insertOrder(...args);
    },
  };
});

/** Every order of a customer, as the API lists them. */
async function ordersOf(caller: Caller, customerId: string) {
  const out: Awaited<ReturnType<typeof listOrders>>["items"] = [];
  let cursor: string | undefined;
  do {
    const page = await listOrders(caller, OrderListQuerySchema.parse({ customerId, limit: 200, cursor }));
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

const HEADER = "订单号,客户编码,客户名称,订单日期,状态,产品编码,产品名称,数量,单价,金额,币种,备注";

describe("order import", () => {
  it("imports a UTF-8 file with Chinese headers: lines grouped by order number, row errors, stats as the API books them", async () => {
    const admin = aCaller();
    const buyer = await newCustomer(admin, { code: "OC-1", name: "宁波北仑机械有限公司" });
    const other = await newCustomer(admin, { code: "OC-2", name: "温州鹿城鞋业" });
    const csv =
      `\ufeff${HEADER}\r\n` +
      "PO-1,OC-1,宁波北仑机械有限公司,2026-03-05,已审批,SKU-A,螺丝,10,1.50,15.00,人民币,首单\r\n" +
      "PO-1,OC-1,,2026-03-05,已审批,SKU-B,螺母,5,¥2.00,,,\r\n" +
      "PO-2,oc-1,,2026/4/10,草稿,,垫片,3,0.10,,,\r\n" +
      "PO-3,NOPE,,2026-03-06,,SKU-A,螺丝,1,1.50,,,\r\n" +
      "PO-4,OC-2,,2026-03-07,已审批,SKU-A,螺丝,abc,1.50,,,\r\n" +
      "PO-4,OC-2,,2026-03-07,已审批,SKU-B,螺母,1,2.00,,,\r\n" +
      "PO-5,OC-2,,2026-03-08,已审批,SKU-A,螺丝,2,1.50,4.00,,\r\n" +
      "PO-6,OC-2,别的公司,2026-03-08,,SKU-A,螺丝,2,1.50,,,\r\n" +
      "PO-7,OC-2,,2026-03-09,已退货,SKU-A,螺丝,2,1.50,,,\r\n" +
      "PO-8,OC-2,,2026-03-09,,SKU-A,螺丝,2,1.555,,USD,\r\n";

    const { job, jobId } = await runToEnd(admin, csv, { entity: "orders" });

    expect(job).toMatchObject({
      status: "succeeded",
      processed: 10,
      total: 10,
      counts: { inserted: 3, updated: 0, skipped: 0, failed: 7 },
    });
    const report = (await (await fetch((await readImport(admin, jobId)).errorReportUrl as string)).text())
      .replace(/^\ufeff/, "")
      .trim()
      .split("\r\n");
    expect(report[0]).toBe(`行号(row),列(column),错误(error),${HEADER}`);
    expect(report.slice(1)).toEqual([
      "5,客户编码,no customer with code NOPE (or not yours to see),PO-3,NOPE,,2026-03-06,,SKU-A,螺丝,1,1.50,,,",
      "6,数量,quantity is a whole number,PO-4,OC-2,,2026-03-07,已审批,SKU-A,螺丝,abc,1.50,,,",
      "7,,order PO-4 has an invalid row (6),PO-4,OC-2,,2026-03-07,已审批,SKU-B,螺母,1,2.00,,,",
      "8,金额,is not quantity × unit price,PO-5,OC-2,,2026-03-08,已审批,SKU-A,螺丝,2,1.50,4.00,,",
      "9,客户名称,customer OC-2 is named 温州鹿城鞋业,PO-6,OC-2,别的公司,2026-03-08,,SKU-A,螺丝,2,1.50,,,",
      expect.stringMatching(/^10,状态,"one of draft, submitted, approved, shipped, rejected, cancelled \(/),
      expect.stringMatching(/^11,单价,"an amount is a decimal string/),
    ]);

    const orders = await ordersOf(admin, buyer.id);
    expect(orders.map((o) => [o.code, o.status, o.amount]).sort()).toEqual([
      ["PO-1", "approved", "25.00"],
      ["PO-2", "draft", "0.30"],
    ]);
    const po1 = orders.find((o) => o.code === "PO-1")!;
    expect(po1).toMatchObject({
      note: "首单",
      // A date alone is 12:00 in the tenant's time zone (Asia/Shanghai): the same UTC day.
      approvedAt: "2026-03-05T04:00:00.000Z",
      dueAt: "2026-04-04T04:00:00.000Z",
      lines: [
        { sku: "SKU-A", name: "螺丝", quantity: 10, unitPrice: "1.50", amount: "15.00" },
        { sku: "SKU-B", name: "螺母", quantity: 5, unitPrice: "2.00", amount: "10.00" },
      ],
    });
    expect(po1.history!.map((h) => `${h.action}:${h.to}`)).toEqual([
      "create:draft",
      "submit:submitted",
      "approve:approved",
    ]);
    expect(orders.find((o) => o.code === "PO-2")!.lines[0]).toMatchObject({ sku: "垫片", quantity: 3 });
    expect(await ordersOf(admin, other.id)).toEqual([]);
    const audit = await queryAudit(admin.tenant, { entityId: po1.id, limit: 10 });
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]).toMatchObject({ action: "create", entityType: "order", requestId: jobId });

    // The same order made through the API (create, submit, approve) books the same stats.
    const twin = await newCustomer(admin, { code: "OC-3", name: "对照客户" });
    const made = await newOrder(admin, twin.id, ["1.50", "2.00"]); // 1 x 1.50 + 2 x 2.00 = 5.50
    await actOnOrder(admin, made.id, "submit", {}, undefined);
    await actOnOrder(admin, made.id, "approve", {}, undefined);
    const [imported, viaApi] = [await getCustomer(admin, buyer.id), await getCustomer(admin, twin.id)];
    expect(imported.stats).toMatchObject({
      orderCount: 1,
      approvals: 1,
      totalAmount: "25.00",
      receivable: "25.00",
      netAmount: "25.00",
      firstOrderAt: "2026-03-05T04:00:00.000Z",
      lastOrderAt: "2026-03-05T04:00:00.000Z",
    });
    expect(Object.keys(imported.stats!).sort()).toEqual(Object.keys(viaApi.stats!).sort());
    // ...and the customer is classified by them as soon as the job has ended.
    expect(imported.categories).toMatchObject({ loyalty: "new", frequency: "low", size: "small" });
    expect(viaApi.categories).toMatchObject({ loyalty: "new" });
  });

  it("importing the same file again creates nothing; GBK and XLSX read the same; a later order moves lastOrderAt", async () => {
    const admin = aCaller();
    const c = await newCustomer(admin, { code: "G-1", name: "广州天河贸易" });
    const rows = [
      "订单号,客户编码,订单日期,状态,产品名称,数量,单价",
      "G-PO-1,G-1,2026-02-01,已发货,电机,2,100.00",
      "G-PO-2,G-1,2026-01-15,已审批,电机,1,100.00",
    ];
    const gbk = toGbk(rows.join("\r\n") + "\r\n");
    const first = await runToEnd(admin, gbk, { entity: "orders" });
    expect(first.job.counts).toEqual({ inserted: 2, updated: 0, skipped: 0, failed: 0 });
    expect(await readImport(admin, first.jobId)).toMatchObject({ encoding: "gb18030" });
    const stats = (await getCustomer(admin, c.id)).stats;
    expect(stats).toMatchObject({
      orderCount: 2,
      totalAmount: "300.00",
      // Imported in file order, booked by date: first/last are the earliest and latest order dates.
      firstOrderAt: "2026-01-15T04:00:00.000Z",
      lastOrderAt: "2026-02-01T04:00:00.000Z",
    });
    expect((await getCustomer(admin, c.id)).categories).toMatchObject({ loyalty: "returning", frequency: "medium" });

    const again = await runToEnd(admin, gbk, { entity: "orders" });
    expect(again.job.counts).toEqual({ inserted: 0, updated: 0, skipped: 2, failed: 0 });
    expect(await ordersOf(admin, c.id)).toHaveLength(2);
    expect((await getCustomer(admin, c.id)).stats).toEqual(stats);

    // The same orders as a workbook (numbers as numeric cells, the date as Excel's serial) plus a new one.
    const book = aSheet("订单", [
      ["订单号", "客户编码", "订单日期", "状态", "产品名称", "数量", "单价"],
      ["G-PO-1", "G-1", "2026-02-01", "已发货", "电机", 2, 100],
      ["G-PO-2", "G-1", "2026-01-15", "已审批", "电机", 1, 100],
      ["G-PO-3", "G-1", 46091, "已审批", "电机", 3, 99.9], // 46091 = 2026-03-10
    ]);
    const xlsx = await runToEnd(admin, book, { entity: "orders" });
    expect(xlsx.job).toMatchObject({ status: "succeeded", counts: { inserted: 1, skipped: 2, failed: 0 } });
    expect(await readImport(admin, xlsx.jobId)).toMatchObject({ format: "xlsx", sheet: "订单" });
    expect((await getCustomer(admin, c.id)).stats).toMatchObject({
      orderCount: 3,
      totalAmount: "599.70",
      firstOrderAt: "2026-01-15T04:00:00.000Z",
      lastOrderAt: "2026-03-10T04:00:00.000Z",
    });
  });

  it("a workbook's formula results and date-time cells are read as Excel shows them", async () => {
    const admin = aCaller();
    const c = await newCustomer(admin, { code: "F-1" });
    const book = aSheet("订单", [
      ["订单号", "客户编码", "订单日期", "产品名称", "数量", "单价", "金额"],
      // 单价 and 金额 as a formula's cached results (=ROUND(9.5*1.1052631578947369,2), =E2*F2) with binary noise;
      // the date in a date-time style, 2026-11-30 10:30 in the tenant's zone.
      ["F-PO-1", "F-1", { n: 46356.4375, numFmt: "yyyy/m/d h:mm" }, "电机", 3, 10.499999999999998, 31.499999999999996],
    ]);
    const run = await runToEnd(admin, book, { entity: "orders" });
    expect(run.job).toMatchObject({ status: "succeeded", counts: { inserted: 1, failed: 0 } });
    const [order] = await ordersOf(admin, c.id);
    expect(order).toMatchObject({ amount: "31.50", lines: [{ quantity: 3, unitPrice: "10.50" }] });
    expect(order!.createdAt).toBe("2026-11-30T02:30:00.000Z");
  });

  it("upsert changes a draft's lines; insert skips known numbers; a booked order is not rewritten; dry run writes nothing", async () => {
    const admin = aCaller();
    const c = await newCustomer(admin, { code: "U-1" });
    const head = "orderNo,customerCode,product,quantity,unitPrice,status\n";
    await runToEnd(admin, head + "U-PO-1,U-1,阀门,1,10.00,\nU-PO-2,U-1,阀门,1,10.00,approved\n", {
      entity: "orders",
    });
    const before = await getCustomer(admin, c.id);
    const changed = head + "U-PO-1,U-1,阀门,4,10.00,\nU-PO-2,U-1,阀门,9,10.00,approved\nU-PO-3,U-1,阀门,1,10.00,\n";

    const dry = await runToEnd(admin, changed, { entity: "orders", dryRun: true });
    expect(dry.job.counts).toEqual({ inserted: 1, updated: 1, skipped: 0, failed: 1 });
    expect((await ordersOf(admin, c.id)).map((o) => o.amount).sort()).toEqual(["10.00", "10.00"]);

    const ins = await runToEnd(admin, changed, { entity: "orders", mode: "insert" });
    expect(ins.job.counts).toEqual({ inserted: 1, updated: 0, skipped: 2, failed: 0 });

    const up = await runToEnd(admin, changed, { entity: "orders", mode: "upsert" });
    expect(up.job.counts).toEqual({ inserted: 0, updated: 1, skipped: 1, failed: 1 });
    expect(up.job.errors).toEqual([
      { id: "row 3", message: "orderNo: order U-PO-2 is approved; only a draft can be changed" },
    ]);
    const orders = await ordersOf(admin, c.id);
    expect(Object.fromEntries(orders.map((o) => [o.code, [o.amount, o.version]]))).toEqual({
      "U-PO-1": ["40.00", 2],
      "U-PO-2": ["10.00", 1],
      "U-PO-3": ["10.00", 1],
    });
    expect((await getCustomer(admin, c.id)).stats).toEqual(before.stats);
  });

  it("a row the parser refuses (more cells than the header) fails its whole order, not just its line", async () => {
    const admin = aCaller();
    await newCustomer(admin, { code: "R-1" });
    const { job } = await runToEnd(
      admin,
      "订单号,客户编码,产品名称,数量,单价\nR-PO-1,R-1,甲,1,1.00\nR-PO-1,R-1,乙,1,1.00,多余\nR-PO-2,R-1,甲,1,1.00\n",
      { entity: "orders" },
    );
    expect(job.counts).toEqual({ inserted: 1, updated: 0, skipped: 0, failed: 2 });
    expect(job.errors).toEqual([
      { id: "row 2", message: "order R-PO-1 has an invalid row (3)" },
      { id: "row 3", message: "6 cells but the header has 5 columns" },
    ]);
  });

  it("a sales user imports orders only for customers in their data scope", async () => {
    const admin = aCaller();
    const sales = { ...admin, userId: "u-sales-1", roles: ["sales" as const], dept: undefined };
    await newCustomer(admin, { code: "S-THEIRS" });
    await newCustomer(admin, { code: "S-MINE", ownerId: sales.userId });
    const { job } = await runToEnd(
      sales,
      "订单号,客户编码,产品名称,数量,单价\nS-PO-1,S-THEIRS,阀门,1,1.00\nS-PO-2,S-MINE,阀门,1,1.00\n",
      { entity: "orders" },
    );
    expect(job.counts).toEqual({ inserted: 1, updated: 0, skipped: 0, failed: 1 });
    expect(job.errors).toEqual([
      { id: "row 2", message: "客户编码: no customer with code S-THEIRS (or not yours to see)" },
    ]);
  });

  it("never splits an order across chunks, and a worker killed mid-chunk books nothing twice", async () => {
    const admin = aCaller();
    const customers = [await newCustomer(admin, { code: "K-A" }), await newCustomer(admin, { code: "K-B" })];
    const orders = 160; // 2 lines each: 320 rows, more than one chunk
    let csv = "订单号,客户编码,订单日期,状态,产品编码,产品名称,数量,单价\n";
    for (let i = 0; i < orders; i++) {
      const code = customers[i % 2]!.code;
      const day = String((i % 28) + 1).padStart(2, "0");
      csv += `K-${i},${code},2026-02-${day},已审批,A,甲,1,1.00\nK-${i},${code},2026-02-${day},已审批,B,乙,${i + 1},0.01\n`;
    }
    const imp = await anImport(admin, csv, { entity: "orders" });

    // 1st invocation: time runs short after the first chunk.
    const short = fakeContext((n) => (n <= 1 ? PLENTY : TIME_RESERVE_MS - 1));
    expect(await imp.handler(sqsEvent(imp.message), short)).toEqual({ batchItemFailures: [] });
    const paused = (await getJobItem(admin.tenant, imp.jobId))!;
    // The chunk ended before the last order of its CHUNK_ROWS rows (held back for the next chunk): whole orders only.
    expect(paused.processed).toBe(CHUNK_ROWS - 2);
    expect(paused.counts).toMatchObject({ inserted: CHUNK_ROWS - 2, failed: 0 });

    // 2nd invocation dies after 30 orders of its chunk.
    let writes = 0;
    hooks.beforeInsert = () => {
      if (++writes === 31) throw new Error("simulated crash");
    };
    expect(await imp.handler(sqsEvent(imp.continuations[0]!, 1, "crash"), fakeContext())).toEqual({
      batchItemFailures: [{ itemIdentifier: "crash" }],
    });
    hooks.beforeInsert = undefined;
    expect((await getJobItem(admin.tenant, imp.jobId))!.processed).toBe(CHUNK_ROWS - 2);

    expect(await imp.handler(sqsEvent(imp.continuations[0]!, 2, "crash"), fakeContext())).toEqual({
      batchItemFailures: [],
    });
    const done = (await getJobItem(admin.tenant, imp.jobId))!;
    expect(done).toMatchObject({
      status: "succeeded",
      processed: orders * 2,
      counts: { inserted: orders * 2, updated: 0, skipped: 0, failed: 0 },
    });
    // Each customer's stats equal the sum of its orders, booked once.
    for (const [k, c] of customers.entries()) {
      const mine = await ordersOf(admin, c.id);
      expect(mine).toHaveLength(orders / 2);
      expect(mine.every((o) => o.lines.length === 2)).toBe(true);
      let fen = 0;
      for (let i = k; i < orders; i += 2) fen += 100 + (i + 1);
      expect((await getCustomer(admin, c.id)).stats).toMatchObject({
        orderCount: orders / 2,
        approvals: orders / 2,
        totalAmount: (fen / 100).toFixed(2),
        receivable: (fen / 100).toFixed(2),
        firstOrderAt: `2026-02-0${k + 1}T04:00:00.000Z`,
        lastOrderAt: `2026-02-${k === 0 ? 27 : 28}T04:00:00.000Z`,
      });
    }
  }, 120_000);
});
