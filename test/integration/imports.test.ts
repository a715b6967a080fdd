// Import jobs against DynamoDB Local and s3rver: the jobs worker handler called directly with hand-made SQS events
// and a fake Lambda context, on files put into the uploads bucket (under a prefix no notification watches, so the
// shared local runtime's own workers stay out of it). Counts, the error report, repeated files and events, runs
// that pause or crash mid-file, and bad files.
import { strToU8, zipSync } from "fflate";
import { describe, expect, it, vi } from "vitest";
import { jobsWorker } from "../../functions/workers/jobs-worker.ts";
import { queryAudit } from "../../shared/domain/audit/audit.ts";
import { verifyAuditChain } from "../../shared/domain/audit/verify.ts";
import { dynamo } from "../../shared/db/client.ts";
import { customerKeys } from "../../shared/domain/customers/keys.ts";
import { getCustomerItem, listAll, readCollection, searchCustomers } from "../../shared/domain/customers/repository.ts";
import { CustomerCreateSchema, CustomerListQuerySchema } from "../../shared/domain/customers/schemas.ts";
import {
  createCustomer,
  customer360,
  deleteCustomer,
  getCustomer,
  listCustomers,
} from "../../shared/domain/customers/service.ts";
import { getContactOf, listContacts } from "../../shared/domain/contacts/service.ts";
import { normalizeQuery } from "../../shared/domain/validation/index.ts";
import { CHUNK_ROWS } from "../../shared/domain/imports/runner.ts";
import { batchGet } from "../../shared/domain/imports/repository.ts";
import { createListedJob, importObjectCreated, readImport } from "../../shared/domain/imports/service.ts";
import { EXPORT_LIMITS } from "../../shared/domain/exports/runner.ts";
import { readExport } from "../../shared/domain/exports/service.ts";
import { getJobItem } from "../../shared/domain/jobs/repository.ts";
import { TIME_RESERVE_MS } from "../../shared/domain/jobs/progress.ts";
import type { JobMessage } from "../../shared/domain/jobs/schemas.ts";
import { aCaller, aUscc } from "../support/builders.ts";
import { anImport, aSheet, runToEnd, toGbk } from "../support/import-jobs.ts";
import { fakeContext, PLENTY, sqsEvent } from "../support/job-events.ts";

/**
 * Lets a test make the n-th group write of an import chunk (or its search-index write) fail, as a worker killed
 * mid-chunk would stop.
 */
const hooks = vi.hoisted(() => ({
  beforeInsert: undefined as undefined | ((items: unknown[]) => void | Promise<void>),
  beforeIndex: undefined as undefined | (() => void),
}));
vi.mock("../../shared/domain/imports/repository.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../shared/domain/imports/repository.ts")>();
  return {
    ...real,
    writeGroup: async (...args: Parameters<typeof real.writeGroup>) => {
      await hooks.beforeInsert?.(args[0]);
      return real.writeGroup(...args);
    },
    putIndexItems: async (...args: Parameters<typeof real.putIndexItems>) => {
      hooks.beforeIndex?.();
      return real.putIndexItems(...args);
    },
  };
});

/** Every live customer of the tenant. */
async function allCustomers(tenant: string) {
  const out: Awaited<ReturnType<typeof listAll>>["items"] = [];
  let state: unknown;
  do {
    const page = await listAll(tenant, [], 200, state as never, false);
    out.push(...page.items);
    state = page.state;
  } while (state);
  return out;
}

/** Consistent reads of the tenant's audit chain heads (what a writer does before an append it has no head for). */
const headReads = new Map<string, number>();
dynamo.middlewareStack.add(
  (next, context) => async (args) => {
    const input = JSON.stringify((args as { input: unknown }).input);
    const tenant = /T#([^#"]+)#AUDITHEAD#/.exec(input)?.[1];
    if (context.commandName === "GetItemCommand" && tenant) headReads.set(tenant, (headReads.get(tenant) ?? 0) + 1);
    return next(args);
  },
  { step: "initialize", name: "countHeadReads" },
);

const codeOwner = async (tenant: string, code: string) =>
  (await batchGet([{ PK: customerKeys.codeGuardPk(tenant, code), SK: customerKeys.guardSk() }]))[0]?.customerId as
    string | undefined;

describe("customer import (CSV)", () => {
  it("imports a UTF-8 file with a BOM and Chinese headers: counts, duplicates by code, an error report per bad row", async () => {
    const admin = aCaller();
    const uscc = aUscc();
    const csv =
      "\ufeff客户编码,客户名称,联系电话,统一社会信用代码,标签\r\n" +
      `C-1,上海浦东贸易有限公司,021 5888 1234,${uscc},"重点,华东"\r\n` +
      "C-2,北京朝阳科技有限公司,010-65001234,,\r\n" +
      'C-3,杭州西湖茶业,"=HYPERLINK(""http://evil"")",,\r\n' +
      ",,13800000000,,\r\n" +
      "c-1,上海浦东贸易有限公司(重复),021 5888 1234,,\r\n" +
      "C-4,深圳南山电子,0755-26001234,,\r\n";

    const { job, jobId } = await runToEnd(admin, csv);

    expect(job).toMatchObject({
      status: "succeeded",
      processed: 6,
      total: 6,
      percent: 100,
      counts: { inserted: 3, updated: 0, skipped: 1, failed: 2 },
    });
    expect(job.errors).toEqual([
      { id: "row 4", message: expect.stringMatching(/^联系电话: /) },
      { id: "row 5", message: "客户名称: required" },
    ]);
    const c1 = (await getCustomerItem(admin.tenant, (await codeOwner(admin.tenant, "C-1"))!))!;
    // Rows with the same code merge: the later row's values win, the later row counts as skipped.
    expect(c1).toMatchObject({ code: "C-1", name: "上海浦东贸易有限公司(重复)", uscc, tags: ["重点", "华东"] });
    expect(c1.phone).toBe("021-58881234");
    expect((await allCustomers(admin.tenant)).map((c) => c.code).sort()).toEqual(["C-1", "C-2", "C-4"]);
    const audit = await queryAudit(admin.tenant, { entityId: c1.id, limit: 10 });
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]).toMatchObject({ action: "create", actor: admin.userId, requestId: jobId });

    const view = await readImport(admin, jobId);
    expect(view).toMatchObject({ encoding: "utf-8", ignoredColumns: [] });
    const report = await (await fetch(view.errorReportUrl as string)).text();
    const lines = report
      .replace(/^\ufeff/, "")
      .trim()
      .split("\r\n");
    expect(lines[0]).toBe("行号(row),列(column),错误(error),客户编码,客户名称,联系电话,统一社会信用代码,标签");
    expect(lines[1]).toMatch(/^4,联系电话,.+,C-3,杭州西湖茶业,"'=HYPERLINK\(""http:\/\/evil""\)",,$/);
    expect(lines[2]).toBe("5,客户名称,required,,,13800000000,,");
  });

  it("importing the same file again creates nothing; a changed row updates its customer, with an audit entry", async () => {
    const admin = aCaller();
    const csv = "code,name,level\nK-1,甲公司,A\nK-2,乙公司,B\n";
    expect((await runToEnd(admin, csv)).job.counts).toMatchObject({ inserted: 2, updated: 0, skipped: 0 });

    const again = await runToEnd(admin, csv);
    expect(again.job.counts).toEqual({ inserted: 0, updated: 0, skipped: 2, failed: 0 });

    const changed = await runToEnd(admin, "code,name,level\nK-1,甲公司,VIP\nK-2,乙公司,B\nK-3,丙公司,C\n");
    expect(changed.job.counts).toEqual({ inserted: 1, updated: 1, skipped: 1, failed: 0 });
    const k1 = (await getCustomerItem(admin.tenant, (await codeOwner(admin.tenant, "K-1"))!))!;
    expect(k1).toMatchObject({ level: "VIP", version: 2 });
    const audit = await queryAudit(admin.tenant, { entityId: k1.id, limit: 10 });
    expect(audit.items.map((e) => e.action).sort()).toEqual(["create", "update"]);
    expect(audit.items.find((e) => e.action === "update")).toMatchObject({
      changes: expect.arrayContaining(["level"]),
    });
    expect(await allCustomers(admin.tenant)).toHaveLength(3);
  });

  it("insert mode skips rows whose key exists; matching on USCC or name+phone finds customers made over the API", async () => {
    const admin = aCaller();
    const uscc = aUscc();
    const made = (
      await createCustomer(
        admin,
        CustomerCreateSchema.parse({ name: "宁波港口物流", code: "API-1", uscc, phone: "0574-87001234" }),
        undefined,
      )
    ).body as { id: string };

    const insert = await runToEnd(admin, `name,uscc\n宁波港口物流(新),${uscc}\n`, { mode: "insert", matchOn: "uscc" });
    expect(insert.job.counts).toEqual({ inserted: 0, updated: 0, skipped: 1, failed: 0 });

    const byUscc = await runToEnd(admin, `name,uscc,level\n宁波港口物流,${uscc},A\n`, { matchOn: "uscc" });
    expect(byUscc.job.counts).toEqual({ inserted: 0, updated: 1, skipped: 0, failed: 0 });

    const byNamePhone = await runToEnd(admin, "客户名称,电话,行业\n宁波港口物流,0574 8700 1234,物流\n", {
      matchOn: "name+phone",
    });
    expect(byNamePhone.job.counts).toEqual({ inserted: 0, updated: 1, skipped: 0, failed: 0 });
    expect(await getCustomerItem(admin.tenant, made.id)).toMatchObject({ level: "A", industry: "物流", version: 3 });

    // A row whose code belongs to another customer than the one its USCC matches is refused, not merged.
    await createCustomer(admin, CustomerCreateSchema.parse({ name: "别家", code: "API-2" }), undefined);
    const clash = await runToEnd(admin, `name,uscc,code\n宁波港口物流,${uscc},API-2\n`, { matchOn: "uscc" });
    expect(clash.job.counts).toEqual({ inserted: 0, updated: 0, skipped: 0, failed: 1 });
    expect(clash.job.errors[0]!.message).toMatch(/API-2 is already used by another customer/);
  });

  it("reads GBK (what Excel saves on Chinese Windows)", async () => {
    const admin = aCaller();
    const gbk = Buffer.from(
      "bfcdbba7c3fbb3c62cc1aacfb5b5e7bbb02cbfcdbba7b1e0c2eb0d0ac9cfbaa3c6d6b6abc3b3d2d7d3d0cfdeb9abcbbe2c3032312d35" +
        "383838313233342c47424b2d310d0ab1b1bea9b3afd1f4bfc6bcbcd3d0cfdeb9abcbbe2c3031302d36353030313233342c47424b2d320d0a",
      "hex",
    );
    const { job, jobId } = await runToEnd(admin, gbk);
    expect(job.counts).toMatchObject({ inserted: 2, failed: 0 });
    expect(await readImport(admin, jobId)).toMatchObject({ encoding: "gb18030" });
    const c = await getCustomerItem(admin.tenant, (await codeOwner(admin.tenant, "GBK-1"))!);
    expect(c).toMatchObject({ name: "上海浦东贸易有限公司", phone: "021-58881234" });
  });

  it.each([
    ["tab-separated GBK (Excel's 文本文件(制表符分隔))", "\t", "GBK"],
    ["semicolon-separated UTF-8 with BOM (Excel where the decimal mark is a comma)", ";", "UTF-8"],
  ])("reads %s", async (_, sep, encoding) => {
    const admin = aCaller();
    const text = [
      ["客户编码", "客户名称", "地址", "联系电话"],
      ["SEP-1", "上海浦东贸易有限公司", "浦东新区世纪大道100号, 20楼", "021-58881234"],
      ["SEP-2", `"北京${sep}朝阳科技有限公司"`, "朝阳区建国路1号", "010-65001234"],
    ]
      .map((r) => r.join(sep))
      .join("\r\n");
    const bytes = encoding === "GBK" ? toGbk(text) : Buffer.from(`\ufeff${text}`);
    const { job, jobId } = await runToEnd(admin, bytes);
    expect(job.counts).toMatchObject({ inserted: 2, failed: 0 });
    expect(await readImport(admin, jobId)).toMatchObject({
      delimiter: sep,
      encoding: encoding === "GBK" ? "gb18030" : "utf-8",
      ignoredColumns: [],
    });
    expect(await getCustomerItem(admin.tenant, (await codeOwner(admin.tenant, "SEP-1"))!)).toMatchObject({
      name: "上海浦东贸易有限公司",
      address: "浦东新区世纪大道100号, 20楼",
      phone: "021-58881234",
    });
    expect((await getCustomerItem(admin.tenant, (await codeOwner(admin.tenant, "SEP-2"))!))!.name).toBe(
      `北京${sep}朝阳科技有限公司`,
    );
  });

  it("skips title rows above the header, as ERP exports write them (CSV and XLSX)", async () => {
    const admin = aCaller();
    const csv = toGbk(
      "客户清单\r\n导出日期：2026-11-30\t操作员：张三\r\n\r\n" +
        "客户编码\t客户名称\t联系电话\r\nTT-1\t上海浦东贸易有限公司\t021-58881234\r\nTT-2\t杭州西湖科技有限公司\t\r\n",
    );
    const fromCsv = await runToEnd(admin, csv);
    expect(fromCsv.job.counts).toEqual({ inserted: 2, updated: 0, skipped: 0, failed: 0 });
    expect(await readImport(admin, fromCsv.jobId)).toMatchObject({
      delimiter: "\t",
      headerRow: 4,
      columns: ["客户编码", "客户名称", "联系电话"],
      ignoredColumns: [],
    });

    const book = aSheet("客户", [
      ["2026年11月客户台账"],
      ["客户编码", "客户名称", "联系电话"],
      ["TT-3", "北京朝阳科技有限公司", "010-65001234"],
    ]);
    const fromXlsx = await runToEnd(admin, book);
    expect(fromXlsx.job.counts).toEqual({ inserted: 1, updated: 0, skipped: 0, failed: 0 });
    expect(await readImport(admin, fromXlsx.jobId)).toMatchObject({ headerRow: 2 });

    const names = await Promise.all(
      ["TT-1", "TT-2", "TT-3"].map(
        async (code) => (await getCustomerItem(admin.tenant, (await codeOwner(admin.tenant, code))!))!.name,
      ),
    );
    expect(names).toEqual(["上海浦东贸易有限公司", "杭州西湖科技有限公司", "北京朝阳科技有限公司"]);
    // A file whose first rows name no column still fails as before, on its first row.
    const none = await runToEnd(admin, "客户清单\n说明,无\n1,2\n");
    expect(none.job).toMatchObject({ status: "failed" });
    expect(none.job.failureReason).toMatch(/no column for name/);
  });

  it("reads GB18030's four-byte characters, which GBK lacks (𠮷, CJK Extension B)", async () => {
    const admin = aCaller();
    // "客户名称,联系电话,客户编码 / 𠮷祥餐饮有限公司,021-58881234,GB4-1 / Café 北京,010-65001234,GB4-2" in GB18030:
    // 𠮷 is the four bytes 95 34 B2 35, whose 0x34 and 0x35 are ASCII digits.
    const gb18030 = Buffer.from(
      "bfcdbba7c3fbb3c62cc1aacfb5b5e7bbb02cbfcdbba7b1e0c2eb0d0a9534b235cfe9b2cdd2fbd3d0cfdeb9abcbbe2c3032312d3538383831" +
        "3233342c4742342d310d0a436166a8a620b1b1bea92c3031302d36353030313233342c4742342d320d0a",
      "hex",
    );
    const { job, jobId } = await runToEnd(admin, gb18030);
    expect(job.counts).toMatchObject({ inserted: 2, failed: 0 });
    expect(await readImport(admin, jobId)).toMatchObject({ encoding: "gb18030" });
    expect(await getCustomerItem(admin.tenant, (await codeOwner(admin.tenant, "GB4-1"))!)).toMatchObject({
      name: "𠮷祥餐饮有限公司",
      phone: "021-58881234",
    });
    expect(await getCustomerItem(admin.tenant, (await codeOwner(admin.tenant, "GB4-2"))!)).toMatchObject({
      name: "Café 北京",
    });
  });

  it.each(["GBK", "UTF-8"])(
    "a %s file whose first 64 KB are plain ASCII: the first other row decides, and the decision holds after a pause",
    async (encoding) => {
      const admin = aCaller();
      const memo = "x".repeat(1000);
      const ascii = Array.from({ length: 70 }, (_, i) => `AS-${i},ABC Trading ${i},${memo}`);
      const wide = Array.from({ length: CHUNK_ROWS - 70 }, (_, i) => `CN-${i},上海浦东贸易有限公司${i},`);
      // After the pause, "茅台" alone: in GBK its bytes (C3 A9 CC A8) are also valid UTF-8 ("ę́"), so only the
      // decision recorded with the first chunk reads it right.
      const text = `code,name,memo\r\n${[...ascii, ...wide, "MT-1,茅台,", "MT-2,贵州茅台,"].join("\r\n")}\r\n`;
      const imp = await anImport(admin, encoding === "GBK" ? toGbk(text) : Buffer.from(text));

      const short = fakeContext((n) => (n <= 1 ? PLENTY : TIME_RESERVE_MS - 1));
      expect(await imp.handler(sqsEvent(imp.message), short)).toEqual({ batchItemFailures: [] });
      expect((await getJobItem(admin.tenant, imp.jobId))!).toMatchObject({ processed: CHUNK_ROWS });
      expect(await imp.handler(sqsEvent(imp.continuations[0]!), fakeContext())).toEqual({ batchItemFailures: [] });

      const job = (await getJobItem(admin.tenant, imp.jobId))!;
      expect(job).toMatchObject({ status: "succeeded", counts: { inserted: CHUNK_ROWS + 2, failed: 0 } });
      expect(await readImport(admin, imp.jobId)).toMatchObject({ encoding: encoding === "GBK" ? "gb18030" : "utf-8" });
      const nameOf = async (code: string) =>
        (await getCustomerItem(admin.tenant, (await codeOwner(admin.tenant, code))!))!.name;
      expect(await nameOf("AS-0")).toBe("ABC Trading 0");
      expect(await nameOf("CN-0")).toBe("上海浦东贸易有限公司0");
      expect(await nameOf("MT-1")).toBe("茅台");
      expect(await nameOf("MT-2")).toBe("贵州茅台");
    },
    60_000,
  );

  it("a dry run reports what would be inserted, updated and rejected, and writes nothing", async () => {
    const admin = aCaller();
    await runToEnd(admin, "code,name\nD-1,已有公司\n");
    const before = await allCustomers(admin.tenant);

    const { job, jobId } = await runToEnd(admin, "code,name,level\nD-1,已有公司,A\nD-2,新公司,\nD-3,,\n", {
      dryRun: true,
    });

    expect(job.counts).toEqual({ inserted: 1, updated: 1, skipped: 0, failed: 1 });
    expect(await allCustomers(admin.tenant)).toEqual(before);
    expect((await readImport(admin, jobId)).errorReportUrl).toEqual(expect.any(String));
  });

  it("continues a big file in chunks across invocations, and a worker killed mid-chunk loses and doubles nothing", async () => {
    const admin = aCaller();
    const rows = CHUNK_ROWS * 3 + 50;
    const csv = `code,name\n${Array.from({ length: rows }, (_, i) => `B-${i},批量客户${i}`).join("\n")}\n`;
    const imp = await anImport(admin, csv);

    // 1st invocation: time runs short after the first chunk -> paused, continued in a new message.
    const short = fakeContext((n) => (n <= 1 ? PLENTY : TIME_RESERVE_MS - 1));
    expect(await imp.handler(sqsEvent(imp.message), short)).toEqual({ batchItemFailures: [] });
    expect(imp.continuations).toEqual([imp.message]);
    const paused = (await getJobItem(admin.tenant, imp.jobId))!;
    expect(paused).toMatchObject({ status: "running", processed: CHUNK_ROWS, counts: { inserted: CHUNK_ROWS } });
    expect(paused.percent).toBeGreaterThan(0);
    expect(paused.percent).toBeLessThan(100);
    expect(paused.total).toBeGreaterThan(CHUNK_ROWS);

    // 2nd invocation dies halfway through its chunk (its 4th group write fails as a killed process would stop).
    let writes = 0;
    hooks.beforeInsert = () => {
      if (++writes === 4) throw new Error("simulated crash");
    };
    const crashed = await imp.handler(sqsEvent(imp.continuations[0]!, 1, "crash"), fakeContext());
    hooks.beforeInsert = undefined;
    expect(crashed).toEqual({ batchItemFailures: [{ itemIdentifier: "crash" }] });
    const afterCrash = (await getJobItem(admin.tenant, imp.jobId))!;
    expect(afterCrash.processed).toBe(CHUNK_ROWS); // the half-done chunk did not count
    expect((await allCustomers(admin.tenant)).length).toBeGreaterThan(CHUNK_ROWS); // ...but some of it was written

    // The same message again: the chunk is repeated from its start and the job ends with every row once.
    expect(await imp.handler(sqsEvent(imp.continuations[0]!, 2, "crash"), fakeContext())).toEqual({
      batchItemFailures: [],
    });
    const done = (await getJobItem(admin.tenant, imp.jobId))!;
    expect(done).toMatchObject({
      status: "succeeded",
      processed: rows,
      total: rows,
      counts: { inserted: rows, updated: 0, skipped: 0, failed: 0 },
    });
    const all = await allCustomers(admin.tenant);
    expect(all).toHaveLength(rows);
    expect(new Set(all.map((c) => c.code)).size).toBe(rows);
    const sample = all.find((c) => c.code === `B-${CHUNK_ROWS + 10}`)!;
    expect((await queryAudit(admin.tenant, { entityId: sample.id, limit: 10 })).items).toHaveLength(1);
  }, 120_000);

  it("an importer without a department gives customers to owners with no user record: every row is written and the owners move", async () => {
    const admin = aCaller({ dept: undefined });
    const first = await runToEnd(admin, "code,name,负责人\nOW-1,归属客户甲,u-admin\nOW-2,归属客户乙,u-ghost\n");
    expect(first.job).toMatchObject({ status: "succeeded", counts: { inserted: 2, failed: 0 } });
    const moved = await runToEnd(admin, "code,name,负责人\nOW-1,归属客户甲,u-ghost\nOW-2,归属客户乙,u-admin\n");
    expect(moved.job).toMatchObject({ status: "succeeded", counts: { updated: 2, failed: 0 } });
    const one = (await getCustomerItem(admin.tenant, (await codeOwner(admin.tenant, "OW-1"))!))!;
    const two = (await getCustomerItem(admin.tenant, (await codeOwner(admin.tenant, "OW-2"))!))!;
    expect([one.ownerId, two.ownerId]).toEqual(["u-ghost", "u-admin"]);
    expect([one.deptPath, two.deptPath]).toEqual([undefined, undefined]);
  });

  it("an API create of a code the import is about to insert meanwhile: exactly one customer, the row skipped", async () => {
    const admin = aCaller();
    const rows = 60;
    const csv = `code,name\n${Array.from({ length: rows }, (_, i) => `RC-${i},竞争客户${i}`).join("\n")}\n`;
    // The API creates RC-7 after the import read the guards (RC-7 was free) and before the group holding it is written.
    let apiId: string | undefined;
    hooks.beforeInsert = async (items) => {
      const guard = customerKeys.codeGuardPk(admin.tenant, "RC-7");
      const claims = JSON.stringify(items).includes(JSON.stringify(guard));
      if (!claims || apiId) return;
      const made = await createCustomer(
        admin,
        CustomerCreateSchema.parse({ code: "RC-7", name: "接口客户" }),
        undefined,
      );
      apiId = (made.body as { id: string }).id;
    };
    try {
      const { job } = await runToEnd(admin, csv, { mode: "insert" });
      expect(job).toMatchObject({
        status: "succeeded",
        counts: { inserted: rows - 1, updated: 0, skipped: 1, failed: 0 },
      });
    } finally {
      hooks.beforeInsert = undefined;
    }
    expect(apiId).toEqual(expect.any(String));
    const all = await allCustomers(admin.tenant);
    expect(all).toHaveLength(rows);
    expect(all.filter((c) => c.code === "RC-7")).toEqual([expect.objectContaining({ id: apiId, name: "接口客户" })]);
    expect(await codeOwner(admin.tenant, "RC-7")).toBe(apiId);
    expect(new Set(all.map((c) => c.code)).size).toBe(rows);
  });

  it.each([
    ["code", "code,name,phone", (i: number) => `IX-${i},索引客户${i}号,021-5888${String(i).padStart(4, "0")}`],
    ["name+phone", "code,name,phone", (i: number) => `IX-${i},索引客户${i}号,021-5888${String(i).padStart(4, "0")}`],
    ["name+phone", "name,phone", (i: number) => `索引客户${i}号,021-5888${String(i).padStart(4, "0")}`],
  ] as const)(
    "matching on %s (%s): a crash after a chunk's groups were written but before its search-index items; the retry counts each row once and indexes them",
    async (matchOn, header, row) => {
      const admin = aCaller();
      const rows = 40;
      const csv = `${header}\n${Array.from({ length: rows }, (_, i) => row(i)).join("\n")}\n`;
      const imp = await anImport(admin, csv, { matchOn });
      hooks.beforeIndex = () => {
        throw new Error("simulated crash");
      };
      try {
        const crashed = await imp.handler(sqsEvent(imp.message, 1, "ix"), fakeContext());
        expect(crashed).toEqual({ batchItemFailures: [{ itemIdentifier: "ix" }] });
      } finally {
        hooks.beforeIndex = undefined;
      }
      expect((await getJobItem(admin.tenant, imp.jobId))!.processed).toBe(0);
      expect(await allCustomers(admin.tenant)).toHaveLength(rows); // written, not yet findable by name
      expect((await searchCustomers(admin.tenant, normalizeQuery("索引客户7号"), [], 10, undefined)).items).toEqual([]);

      expect(await imp.handler(sqsEvent(imp.message, 2, "ix"), fakeContext())).toEqual({ batchItemFailures: [] });
      const done = (await getJobItem(admin.tenant, imp.jobId))!;
      expect(done).toMatchObject({
        status: "succeeded",
        processed: rows,
        counts: { inserted: rows, updated: 0, skipped: 0, failed: 0 },
      });
      const all = await allCustomers(admin.tenant);
      expect(all).toHaveLength(rows);
      // Rows without a code were numbered from the tenant's pattern, as the API numbers them: distinct and guarded.
      expect(new Set(all.map((c) => c.code)).size).toBe(rows);
      for (const c of all.slice(0, 5)) expect(await codeOwner(admin.tenant, c.code)).toBe(c.id);
      const hit = (await searchCustomers(admin.tenant, normalizeQuery("索引客户7号"), [], 10, undefined)).items;
      expect(hit.map((c) => c.name)).toEqual(["索引客户7号"]);
      expect((await queryAudit(admin.tenant, { entityId: hit[0]!.id, limit: 10 })).items).toHaveLength(1);
    },
  );

  it("no customer or contact view shows the import's marker or index keys: get, list, search, 360, contacts", async () => {
    const admin = aCaller();
    await runToEnd(admin, "code,name\nVW-1,视图客户甲\n");
    await runToEnd(admin, "客户编码,联系人,手机\nVW-1,张三,13812345678\n", { entity: "contacts" });
    await runToEnd(admin, "code,name,phone\nVW-1,视图客户甲,021-1234567\n"); // an update: importMark #updated
    const id = (await codeOwner(admin.tenant, "VW-1"))!;
    expect((await getCustomerItem(admin.tenant, id))!.importMark).toEqual(expect.any(String)); // stored...
    const internal = (o: object) =>
      Object.keys(o).filter((k) => k === "importMark" || /^(PK|SK|GSI\d+(PK|SK)|entity|searchTokens)$/.test(k));
    // ...but shown nowhere
    expect(internal(await getCustomer(admin, id))).toEqual([]);
    const list = await listCustomers(admin, CustomerListQuerySchema.parse({}));
    expect(list.items.map(internal)).toEqual([[]]);
    const found = await listCustomers(admin, CustomerListQuerySchema.parse({ q: "视图客户" }));
    expect(found.items.map(internal)).toEqual([[]]);
    const view = await customer360(admin, id);
    expect(internal(view.customer)).toEqual([]);
    expect(view.contacts).toHaveLength(1);
    expect(view.contacts.map(internal)).toEqual([[]]);
    const contacts = await listContacts(admin, id, 10, undefined);
    expect(contacts.items.map(internal)).toEqual([[]]);
    expect(internal(await getContactOf(admin, id, contacts.items[0]!.id))).toEqual([]);
  });

  it.each([
    ["an empty file", "", /the file is empty/],
    ["a header only", "客户名称,电话\r\n", /header row but no data rows/],
    ["no name column", "电话,地址\n1,2\n", /no column for name/],
    [
      "an unknown encoding",
      Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x0a, 0x41, 0xff, 0xff, 0xff, 0x0a]),
      /unknown encoding/,
    ],
    ["binary data", Buffer.from([0x00, 0x01, 0x02, 0x03]), /unknown encoding/],
    ["an unterminated quote", 'name,phone\n"ACME,123\nB,456\n', /row 2: a quoted cell is never closed/],
    [
      "a 2 MB single cell",
      Buffer.concat([Buffer.from("name\n"), Buffer.alloc(2 * 1024 * 1024, 0x41), Buffer.from("\n")]),
      /row 2: a cell is larger than/,
    ],
    [
      "a 50 MB single cell",
      Buffer.concat([Buffer.from("name,phone\n"), Buffer.alloc(50 * 1024 * 1024, 0x41), Buffer.from(",1\n")]),
      /row 2: a cell is larger than/,
    ],
    [
      "a password-protected workbook",
      Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0, 0, 0]),
      /password-protected/,
    ],
  ])("fails %s with a clear reason", async (_what, body, reason) => {
    const admin = aCaller();
    const { job } = await runToEnd(admin, body);
    expect(job.status).toBe("failed");
    expect(job.failureReason).toMatch(reason);
    expect(job.leaseOwner).toBeUndefined();
    expect(await allCustomers(admin.tenant)).toEqual([]);
  });

  it("a row with more cells than the header fails alone; the others import", async () => {
    const admin = aCaller();
    const { job } = await runToEnd(admin, "code,name\nR-1,甲\nR-2,乙,多余\nR-3,丙\n");
    expect(job.status).toBe("succeeded");
    expect(job.counts).toEqual({ inserted: 2, updated: 0, skipped: 0, failed: 1 });
    expect(job.errors).toEqual([{ id: "row 3", message: "3 cells but the header has 2 columns" }]);
  });
});

/** A minimal workbook as Excel writes one: shared strings (with a phonetic run), inline strings, numbers. */
function aWorkbook(sheets: Record<string, string[][]>, extra: Record<string, Uint8Array> = {}): Buffer {
  const shared: string[] = [];
  const names = Object.keys(sheets);
  const files: Record<string, Uint8Array> = {
    "[Content_Types].xml": strToU8(
      '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
    ),
    "xl/workbook.xml": strToU8(
      '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ' +
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>' +
        names.map((n, i) => `<sheet name="${n}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`).join("") +
        "</sheets></workbook>",
    ),
    "xl/_rels/workbook.xml.rels": strToU8(
      '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
        names
          .map((_, i) => `<Relationship Id="rId${i + 1}" Type="worksheet" Target="worksheets/sheet${i + 1}.xml"/>`)
          .join("") +
        "</Relationships>",
    ),
    ...extra,
  };
  names.forEach((n, i) => {
    const rows = sheets[n]!.map((cells, r) => {
      const cs = cells
        .map((v, c) => {
          const ref = `${String.fromCharCode(65 + c)}${r + 1}`;
          if (v === "") return "";
          if (/^\d{5,}$/.test(v)) return `<c r="${ref}"><v>${v}</v></c>`; // a number, as Excel stores phones
          if (c % 2 === 1) return `<c r="${ref}" t="inlineStr"><is><t>${v}</t></is></c>`;
          shared.push(v);
          return `<c r="${ref}" t="s"><v>${shared.length - 1}</v></c>`;
        })
        .join("");
      return `<row r="${r + 1}">${cs}</row>`;
    });
    files[`xl/worksheets/sheet${i + 1}.xml`] = strToU8(
      `<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
        `<dimension ref="A1:C${rows.length}"/><sheetData>${rows.join("")}</sheetData></worksheet>`,
    );
  });
  files["xl/sharedStrings.xml"] = strToU8(
    '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' +
      shared.map((t) => `<si><t>${t}</t><rPh sb="0" eb="1"><t>ピン</t></rPh></si>`).join("") +
      "</sst>",
  );
  return Buffer.from(zipSync(files));
}

describe("customer import (XLSX)", () => {
  it("imports the first sheet, or a named one: shared and inline strings, numbers, Chinese headers", async () => {
    const admin = aCaller();
    const book = aWorkbook({
      说明: [["这是说明页"]],
      客户: [
        ["客户编码", "客户名称", "联系电话"],
        ["X-1", "苏州工业园区贸易", "13812345678"],
        ["X-2", "", "13812345679"],
        ["X-3", "无锡滨湖科技", ""],
      ],
    });
    const first = await runToEnd(admin, book);
    expect(first.job).toMatchObject({ status: "failed", failureReason: /no column for name/ });

    const { job, jobId } = await runToEnd(admin, book, { sheet: "客户" });
    expect(job).toMatchObject({ status: "succeeded", processed: 3, total: 3 });
    expect(job.counts).toEqual({ inserted: 2, updated: 0, skipped: 0, failed: 1 });
    expect(await readImport(admin, jobId)).toMatchObject({
      format: "xlsx",
      sheet: "客户",
      errorReportUrl: expect.any(String),
    });
    const c = await getCustomerItem(admin.tenant, (await codeOwner(admin.tenant, "X-1"))!);
    expect(c).toMatchObject({ name: "苏州工业园区贸易", phone: "13812345678" });

    const missing = await runToEnd(admin, book, { sheet: "没有" });
    expect(missing.job.failureReason).toMatch(/no sheet named "没有" \(it has: 说明, 客户\)/);
  });

  it("fails a zip bomb posing as XLSX and a damaged archive without inflating them", async () => {
    const admin = aCaller();
    const bombed = aWorkbook({ S: [["name"], ["A"]] }, { "xl/media/zeros.bin": new Uint8Array(20 * 1024 * 1024) });
    const bomb = await runToEnd(admin, bombed);
    expect(bomb.job).toMatchObject({ status: "failed", failureReason: /zip bomb/ });

    const damaged = await runToEnd(admin, Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(100, 7)]));
    expect(damaged.job).toMatchObject({ status: "failed", failureReason: /damaged/ });
    expect(await allCustomers(admin.tenant)).toEqual([]);
  });
});

describe("contact import", () => {
  it("adds contacts to the customers their code names, once, keeping the counter and the primary contact", async () => {
    const admin = aCaller();
    await runToEnd(admin, "code,name\nCC-1,联系人测试甲\nCC-2,联系人测试乙\n");
    const csv =
      "客户编码,联系人,手机,职务,主联系人\n" +
      "CC-1,张经理,138 1234 5678,采购经理,是\n" +
      "CC-1,李工,139 0000 1111,,否\n" +
      "CC-2,王总,137 2222 3333,总经理,\n" +
      "NOPE,赵六,136 0000 0000,,\n" +
      "CC-2,,135 0000 0000,,\n";
    const first = await runToEnd(admin, csv, { entity: "contacts" });
    expect(first.job).toMatchObject({
      status: "succeeded",
      counts: { inserted: 3, updated: 0, skipped: 0, failed: 2 },
    });
    expect(first.job.errors.map((e) => e.id)).toEqual(["row 5", "row 6"]);
    const cc1 = (await getCustomerItem(admin.tenant, (await codeOwner(admin.tenant, "CC-1"))!))!;
    expect(cc1.stats).toMatchObject({ contactCount: 2 });
    expect(cc1.primaryContactId).toEqual(expect.any(String));

    const again = await runToEnd(admin, csv, { entity: "contacts" });
    expect(again.job.counts).toEqual({ inserted: 0, updated: 0, skipped: 3, failed: 2 });
    const changed = await runToEnd(admin, "客户编码,联系人,手机,职务\nCC-1,李工,13900001111,技术总监\n", {
      entity: "contacts",
    });
    expect(changed.job.counts).toEqual({ inserted: 0, updated: 1, skipped: 0, failed: 0 });
    const after = (await getCustomerItem(admin.tenant, cc1.id))!;
    expect(after.stats).toMatchObject({ contactCount: 2 });
    expect(after.primaryContactId).toBe(cc1.primaryContactId);
  });
});

describe("dates in workbooks", () => {
  it("reads a date cell as Excel shows it (date styles, the 1900 and 1904 systems); a number in General stays a number", async () => {
    const admin = aCaller();
    await runToEnd(admin, "code,name\n10086,日期客户\n");
    const id = (await codeOwner(admin.tenant, "10086"))!;
    const book = aSheet("联系人", [
      ["客户编码", "联系人", "生日"],
      [10086, "王经理", { n: 31170, numFmt: 14 }], // built-in date format 14 (yyyy/m/d in zh-CN Excel)
      [10086, "李总", { n: 32000, numFmt: 'yyyy"年"m"月"d"日"' }], // a custom format
      [10086, "赵工", { n: 32000, numFmt: 31 }], // zh-CN built-in yyyy"年"m"月"d"日"
    ]);
    const run = await runToEnd(admin, book, { entity: "contacts" });
    expect(run.job.counts).toEqual({ inserted: 3, updated: 0, skipped: 0, failed: 0 });

    const mac = aSheet(
      "联系人",
      [
        ["客户编码", "联系人", "生日"],
        [10086, "钱会计", { n: 31170 - 1462, numFmt: 14 }],
      ],
      {
        date1904: true,
      },
    );
    expect((await runToEnd(admin, mac, { entity: "contacts" })).job.counts).toMatchObject({ inserted: 1 });

    const byName = Object.fromEntries((await listContactItems(admin.tenant, id)).map((c) => [c.name, c.birthday]));
    expect(byName).toEqual({ 王经理: "1985-05-03", 李总: "1987-08-11", 赵工: "1987-08-11", 钱会计: "1985-05-03" });
  });
});

describe("contact import, batched", () => {
  /** A tenant with `n` customers CB-1..CB-n and a contact file of `per` contacts for each. */
  async function customersAndContacts(n: number, per: number) {
    const admin = aCaller();
    const customers = Array.from({ length: n }, (_, i) => `CB-${i + 1},批量联系人客户${i + 1}`).join("\n");
    expect((await runToEnd(admin, `code,name\n${customers}\n`)).job.counts).toMatchObject({ inserted: n });
    const rows: string[] = [];
    for (let i = 1; i <= n; i++) {
      for (let j = 1; j <= per; j++) rows.push(`CB-${i},联系人${i}-${j},139${String(i * 10 + j).padStart(8, "0")}`);
    }
    return { admin, csv: `客户编码,联系人,手机\n${rows.join("\n")}\n` };
  }

  it("writes a chunk's contacts in a transaction per audit chain, not one per row; counters and the audit chain hold", async () => {
    const { admin, csv } = await customersAndContacts(30, 3);
    let transactions = 0;
    hooks.beforeInsert = () => void transactions++;
    try {
      const run = await runToEnd(admin, csv, { entity: "contacts" });
      expect(run.job.counts).toEqual({ inserted: 90, updated: 0, skipped: 0, failed: 0 });
    } finally {
      hooks.beforeInsert = undefined;
    }
    // 90 rows, one chunk: at most one transaction per audit chain (8), where one per row would be 90.
    expect(transactions).toBeGreaterThan(0);
    expect(transactions).toBeLessThanOrEqual(8);
    for (let i = 1; i <= 30; i++) {
      const id = (await codeOwner(admin.tenant, `CB-${i}`))!;
      expect((await getCustomerItem(admin.tenant, id))!.stats).toMatchObject({ contactCount: 3 });
      const contacts = await listContactItems(admin.tenant, id);
      expect(contacts.map((c) => c.name).sort()).toEqual([`联系人${i}-1`, `联系人${i}-2`, `联系人${i}-3`]);
      const audit = await queryAudit(admin.tenant, { entityId: contacts[0]!.id, limit: 5 });
      expect(audit.items).toEqual([expect.objectContaining({ action: "create", parentId: id })]);
    }
    expect(await verifyAuditChain(admin.tenant)).toMatchObject({ ok: true });

    const again = await runToEnd(admin, csv, { entity: "contacts" });
    expect(again.job.counts).toEqual({ inserted: 0, updated: 0, skipped: 90, failed: 0 });
  });

  it("a customer with more contacts in a chunk than one transaction holds: each row on its own, all of them land", async () => {
    const { admin, csv } = await customersAndContacts(1, 60);
    headReads.delete(admin.tenant);
    const run = await runToEnd(admin, csv, { entity: "contacts" });
    expect(run.job.counts).toEqual({ inserted: 60, updated: 0, skipped: 0, failed: 0 });
    // 60 transactions appending to one audit chain: its head is read once, then each append starts from the head the
    // one before it wrote (it was one read per row), and the chain is whole. The other read is for the audit entry of
    // the import job's creation.
    expect(headReads.get(admin.tenant)).toBe(2);
    expect(await verifyAuditChain(admin.tenant)).toMatchObject({ ok: true });
    const id = (await codeOwner(admin.tenant, "CB-1"))!;
    expect((await getCustomerItem(admin.tenant, id))!.stats).toMatchObject({ contactCount: 60 });
    expect(await listContactItems(admin.tenant, id)).toHaveLength(60);
  });

  it("gives the primary role to the last row claiming it, and takes it from the contact that held it", async () => {
    const admin = aCaller();
    await runToEnd(admin, "code,name\nPR-1,主联系人测试\n");
    await runToEnd(admin, "客户编码,联系人,手机,主联系人\nPR-1,老王,13700000001,是\nPR-1,老李,13700000002,否\n", {
      entity: "contacts",
    });
    const id = (await codeOwner(admin.tenant, "PR-1"))!;
    const named = async () =>
      new Map((await listContactItems(admin.tenant, id)).map((c) => [c.name, c as Record<string, unknown>]));
    const oldPrimary = (await named()).get("老王")!;
    expect((await getCustomerItem(admin.tenant, id))!.primaryContactId).toBe(oldPrimary.id);

    const run = await runToEnd(
      admin,
      "客户编码,联系人,手机,职务,主联系人\n" +
        "PR-1,小张,13700000003,,是\n" +
        "PR-1,老李,13700000002,总工,是\n" +
        "PR-1,小赵,13700000004,,是\n",
      { entity: "contacts" },
    );
    expect(run.job.counts).toEqual({ inserted: 2, updated: 1, skipped: 0, failed: 0 });
    const after = await named();
    const customer = (await getCustomerItem(admin.tenant, id))!;
    expect(customer.primaryContactId).toBe(after.get("小赵")!.id);
    expect(customer.stats).toMatchObject({ contactCount: 4 });
    expect([...after].filter(([, c]) => c.isPrimary === true).map(([n]) => n)).toEqual(["小赵"]);
    expect(after.get("老李")).toMatchObject({ title: "总工", isPrimary: false, version: 2 });
    expect(after.get("老王")).toMatchObject({ isPrimary: false, version: 2 });
  });

  it("a worker killed mid-chunk: the retry writes every contact once and counts each row once", async () => {
    const { admin, csv } = await customersAndContacts(24, 2);
    const imp = await anImport(admin, csv, { entity: "contacts" });
    let writes = 0;
    hooks.beforeInsert = () => {
      if (++writes === 3) throw new Error("simulated crash");
    };
    try {
      const crashed = await imp.handler(sqsEvent(imp.message, 1, "crash"), fakeContext());
      expect(crashed).toEqual({ batchItemFailures: [{ itemIdentifier: "crash" }] });
    } finally {
      hooks.beforeInsert = undefined;
    }
    expect(await imp.handler(sqsEvent(imp.message, 2, "crash"), fakeContext())).toEqual({ batchItemFailures: [] });
    expect((await getJobItem(admin.tenant, imp.jobId))!.counts).toEqual({
      inserted: 48,
      updated: 0,
      skipped: 0,
      failed: 0,
    });
    for (let i = 1; i <= 24; i++) {
      const id = (await codeOwner(admin.tenant, `CB-${i}`))!;
      expect((await listContactItems(admin.tenant, id)).length).toBe(2);
      expect((await getCustomerItem(admin.tenant, id))!.stats).toMatchObject({ contactCount: 2 });
    }
    expect(await verifyAuditChain(admin.tenant)).toMatchObject({ ok: true });
  });

  it("a transaction cancelled by a concurrent delete: the other customers' rows still land, the deleted one's fail", async () => {
    const { admin, csv } = await customersAndContacts(16, 2);
    const victim = (await codeOwner(admin.tenant, "CB-5"))!;
    let deleted = false;
    hooks.beforeInsert = async (items) => {
      const touches = JSON.stringify(items).includes(victim);
      if (!deleted && touches) {
        deleted = true;
        await deleteCustomer(admin, victim, undefined);
      }
    };
    try {
      const run = await runToEnd(admin, csv, { entity: "contacts" });
      expect(deleted).toBe(true);
      expect(run.job.counts).toEqual({ inserted: 30, updated: 0, skipped: 0, failed: 2 });
      expect(run.job.errors.map((e) => e.id).sort()).toEqual(["row 10", "row 11"]);
    } finally {
      hooks.beforeInsert = undefined;
    }
    expect(await listContactItems(admin.tenant, victim)).toEqual([]);
    for (const i of [1, 4, 6, 16]) {
      const id = (await codeOwner(admin.tenant, `CB-${i}`))!;
      expect((await getCustomerItem(admin.tenant, id))!.stats).toMatchObject({ contactCount: 2 });
    }
  });
});

describe("contact import with birthdays", () => {
  it("reads a 生日 column in the usual spreadsheet forms, rejects impossible days, and indexes the birthdays", async () => {
    const admin = aCaller();
    await runToEnd(admin, "code,name\nBD-1,生日测试客户\n");
    const csv = "客户编码,联系人,生日\nBD-1,甲,1985/5/3\nBD-1,乙,5月3日\nBD-1,丙,1985-02-30\nBD-1,丁,--02-29\n";
    const run = await runToEnd(admin, csv, { entity: "contacts" });
    expect(run.job.counts).toEqual({ inserted: 3, updated: 0, skipped: 0, failed: 1 });
    expect(run.job.errors).toEqual([expect.objectContaining({ id: "row 4" })]);
    const id = (await codeOwner(admin.tenant, "BD-1"))!;
    const contacts = (await listContactItems(admin.tenant, id)).map((c) => [c.name, c.birthday, c.GSI3SK]);
    expect(contacts.sort()).toEqual([
      ["丁", "--02-29", expect.stringMatching(/^02-29#/)],
      ["乙", "--05-03", expect.stringMatching(/^05-03#/)],
      ["甲", "1985-05-03", expect.stringMatching(/^05-03#/)],
    ]);
  });
});

describe("XLSX export", () => {
  it("writes a workbook that imports back into another tenant as the same customers", async () => {
    const admin = aCaller();
    await runToEnd(admin, 'code,name,phone,tags\nRT-1,往返<一>&,021-58881234,"a,b"\nRT-2,往返二,,\n');
    const job = await createListedJob(admin, "export", { entity: "customers", filter: {}, format: "xlsx" }, "req");
    const handler = jobsWorker({ continueJob: async () => undefined });
    expect(await handler(sqsEvent({ jobId: job.id, tenant: admin.tenant }), fakeContext())).toEqual({
      batchItemFailures: [],
    });
    const view = await readExport(admin, job.id);
    expect(view).toMatchObject({ status: "succeeded", counts: { exported: 2 } });
    expect(view.downloadUrl).toMatch(/\.xlsx/);
    const book = Buffer.from(await (await fetch(view.downloadUrl as string)).arrayBuffer());

    const other = aCaller();
    const back = await runToEnd(other, book);
    expect(back.job).toMatchObject({ status: "succeeded", counts: { inserted: 2, failed: 0 } });
    const c = await getCustomerItem(other.tenant, (await codeOwner(other.tenant, "RT-1"))!);
    expect(c).toMatchObject({ name: "往返<一>&", phone: "021-58881234", tags: ["a", "b"] });
  });
});

describe("contact export", () => {
  it("writes a page's contacts in parts of a bounded size, each once, as a workbook that imports back", async () => {
    const admin = aCaller();
    await runToEnd(admin, "code,name\nCE-1,联系人多的客户一\nCE-2,联系人多的客户二\nCE-3,联系人多的客户三\n");
    // CE-1 has 210 contacts, more than one page of a customer's contacts (200): its second page is read on its own.
    const code = (i: number) => (i < 210 ? "CE-1" : `CE-${2 + (i % 2)}`);
    const rows = Array.from({ length: 240 }, (_, i) => `${code(i)},联系人${i},139${String(i).padStart(8, "0")}`);
    const contacts = await runToEnd(admin, `客户编码,联系人,手机\n${rows.join("\n")}\n`, { entity: "contacts" });
    expect(contacts.job.counts).toMatchObject({ inserted: 240, failed: 0 });

    const job = await createListedJob(admin, "export", { entity: "contacts", filter: {}, format: "xlsx" }, "req");
    const handler = jobsWorker({ continueJob: async () => undefined });
    EXPORT_LIMITS.partRows = 100; // 240 contacts of one page of customers: 3 parts
    try {
      expect(await handler(sqsEvent({ jobId: job.id, tenant: admin.tenant }), fakeContext())).toEqual({
        batchItemFailures: [],
      });
    } finally {
      EXPORT_LIMITS.partRows = 2000;
    }
    const view = await readExport(admin, job.id);
    expect(view).toMatchObject({ status: "succeeded", counts: { exported: 240 } });
    expect((await getJobItem(admin.tenant, job.id)) as { state?: { parts: number } }).toMatchObject({
      state: { parts: 3 },
    });
    const book = Buffer.from(await (await fetch(view.downloadUrl as string)).arrayBuffer());

    const other = aCaller();
    await runToEnd(other, "code,name\nCE-1,甲\nCE-2,乙\nCE-3,丙\n");
    const back = await runToEnd(other, book, { entity: "contacts" });
    expect(back.job).toMatchObject({ status: "succeeded", counts: { inserted: 240, failed: 0 } });
    const names = new Set<string>();
    for (const code of ["CE-1", "CE-2", "CE-3"]) {
      const id = (await codeOwner(other.tenant, code))!;
      for (const c of await listContactItems(other.tenant, id)) names.add(`${code}:${c.name}:${c.mobile}`);
    }
    expect(names.size).toBe(240);
    expect(names.has("CE-1:联系人0:13900000000")).toBe(true);
    expect(names.has("CE-3:联系人239:13900000239")).toBe(true);
  }, 60_000);
});

describe("S3 drops", () => {
  it("the same object event delivered twice starts one job", async () => {
    const tenant = aCaller().tenant;
    const sent: JobMessage[] = [];
    const o = {
      bucket: "uploads",
      key: `imports/${tenant}/客户 2024.csv`,
      size: 10,
      etag: "abc",
      sequencer: "0055AED6DCD90281E5",
    };
    const first = await importObjectCreated(o, async (m) => void sent.push(m));
    const second = await importObjectCreated(o, async (m) => void sent.push(m));
    expect(first).toMatchObject({ outcome: "started" });
    expect(second).toEqual({ jobId: (first as { jobId: string }).jobId, outcome: "repeated" });
    expect(new Set(sent.map((m) => m.jobId)).size).toBe(1);
    const job = await getJobItem(tenant, (first as { jobId: string }).jobId);
    expect(job).toMatchObject({
      type: "import",
      createdBy: "svc-import",
      params: { entity: "customers", mode: "upsert", source: "s3-drop", fileName: "客户 2024.csv" },
    });

    // The object written again is a new version: a new job.
    const third = await importObjectCreated({ ...o, sequencer: "0055AED6DCD90281F0" }, async (m) => void sent.push(m));
    expect(third).toMatchObject({ outcome: "started" });
    expect((third as { jobId: string }).jobId).not.toBe((first as { jobId: string }).jobId);
  });

  it("ignores objects outside imports/<tenantId>/", async () => {
    const send = vi.fn();
    expect(
      await importObjectCreated({ bucket: "b", key: "imports/", size: 0, etag: "", sequencer: "1" }, send),
    ).toEqual(expect.objectContaining({ outcome: "ignored" }));
    expect(
      await importObjectCreated(
        { bucket: "b", key: "imports/bad tenant!/x.csv", size: 0, etag: "", sequencer: "1" },
        send,
      ),
    ).toEqual(expect.objectContaining({ outcome: "ignored" }));
    expect(send).not.toHaveBeenCalled();
  });
});

/** The raw contact items (with their index attributes) of a customer. */
async function listContactItems(tenant: string, customerId: string) {
  return (await readCollection(tenant, customerId)).filter((i) => i.entity === "contact") as Record<string, string>[];
}
