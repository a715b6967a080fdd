// Import benchmark on the local runtime (DynamoDB Local, s3rver): rows/s of customer CSV imports run by the jobs
// worker in this process (continuing across simulated 60 s Lambda invocations), against the raw BatchWriteItem
// ceiling of the same table measured in the same run just before each import, and the RSS of this process (peak,
// and sampled at each tenth of the file, to show it stays flat however big the file).
//   node --openssl-legacy-provider --import tsx bench/import.ts         (BENCH_IMPORT_ROWS=100000 by default)
//   BENCH_IMPORT_ROWS=100000,1000000 BENCH_RAW_ITEMS=50000 node --openssl-legacy-provider --import tsx bench/import.ts
//   BENCH_IMPORT_DRY_RUN=1: the same files as dry runs (parse, validate, look up, plan; nothing written): the memory of
//   a 1M-row file in reasonable time.
//   BENCH_IMPORT_CONTACTS=1: after each customer file, a contact file of as many rows (two contacts each for half the
//   customers) into the same tenant; the figures go to bench/results/import-contacts.json instead of import.json.
// Progress goes to stderr (one line per simulated invocation); the figures, as JSON, to stdout.
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import type { Context, SQSEvent } from "aws-lambda";

process.env.LOG_LEVEL = "SILENT";
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

/** File sizes to import, in rows, one after the other (comma-separated). */
const SIZES = (process.env.BENCH_IMPORT_ROWS ?? "100000").split(",").map((s) => Number(s.trim()));
if (SIZES.some((n) => !Number.isInteger(n) || n < 1)) throw new Error("BENCH_IMPORT_ROWS: row counts, comma-separated");
const rawItemsFor = (rows: number) => Number(process.env.BENCH_RAW_ITEMS ?? Math.min(rows, 50_000));
const DRY_RUN = process.env.BENCH_IMPORT_DRY_RUN === "1";
const CONTACTS = process.env.BENCH_IMPORT_CONTACTS === "1";
const RAW_CONCURRENCY = Number(process.env.BENCH_RAW_CONCURRENCY ?? 8);
/** Simulated Lambda timeout per invocation (the jobs queue's 60 s). */
const INVOCATION_MS = Number(process.env.BENCH_INVOCATION_MS ?? 60_000);

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

const { startLocal } = await import("../local/runtime.ts");
const dataDir = await mkdtemp(join(tmpdir(), "cm-bench-import-"));
const local = await startLocal({ port: 0, dataDir, schedulerEnabled: false, accessLog: false, logLevel: "error" });
const { ddb, dynamo } = await import("../shared/db/client.ts");

/** Capacity the import's own requests consume (ReturnConsumedCapacity), read and write apart, while `meter.on`. */
const meter = { on: false, read: 0, write: 0, items: 0 };
/** Requests and summed latency per command while `meter.on` (printed to stderr: where an import spends its time). */
const byCommand = new Map<string, { calls: number; ms: number; units: number }>();
const READS = new Set([
  "GetItemCommand",
  "QueryCommand",
  "ScanCommand",
  "BatchGetItemCommand",
  "TransactGetItemsCommand",
]);
dynamo.middlewareStack.add(
  (next, context) => async (args) => {
    if (meter.on) (args.input as Record<string, unknown>).ReturnConsumedCapacity = "TOTAL";
    const started = performance.now();
    const out = await next(args);
    if (meter.on) {
      const name = context.commandName ?? "?";
      meter.items += itemsWritten(name, args.input as Record<string, unknown>);
      const c = byCommand.get(name) ?? { calls: 0, ms: 0, units: 0 };
      c.calls++;
      c.ms += performance.now() - started;
      byCommand.set(name, c);
      const cc = (out.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
      let units = 0;
      for (const c of Array.isArray(cc) ? cc : cc ? [cc] : [])
        units += (c as { CapacityUnits?: number }).CapacityUnits ?? 0;
      c.units += units;
      if (READS.has(context.commandName ?? "")) meter.read += units;
      else meter.write += units;
    }
    return out;
  },
  { step: "initialize", name: "benchMeter" },
);
const { BatchWriteCommand } = await import("@aws-sdk/lib-dynamodb");
const { itemsWritten } = await import("./written.ts");
const { S3Client, PutObjectCommand } = await import("@aws-sdk/client-s3");
const { jobsWorker } = await import("../functions/workers/jobs-worker.ts");
const { createListedJob } = await import("../shared/domain/imports/service.ts");
const { getJobItem } = await import("../shared/domain/jobs/repository.ts");
const { usccCheckChar } = await import("../shared/domain/validation/index.ts");
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** The raw ceiling: BatchWriteItem of customer-sized items, 25 a request, RAW_CONCURRENCY requests in flight. */
async function rawBatchWrite(n: number): Promise<number> {
  const table = local.info.tableName;
  const item = (i: number) => ({
    PK: `T#bench-raw#CUST#${i}-${n}`,
    SK: "PROFILE",
    entity: "customer",
    name: `批量基准客户有限公司${i}`,
    code: `R-${i}`,
    phone: "021-58881234",
    version: 1,
    createdAt: new Date().toISOString(),
  });
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: RAW_CONCURRENCY }, async () => {
      for (;;) {
        const start = next;
        next += 25;
        if (start >= n) return;
        let pending = Array.from({ length: Math.min(25, n - start) }, (_, k) => ({
          PutRequest: { Item: item(start + k) },
        }));
        for (let attempt = 0; pending.length; attempt++) {
          const res = await ddb.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
          pending = (res.UnprocessedItems?.[table] ?? []) as typeof pending;
          if (pending.length) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
        }
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

/** A customer CSV of `n` rows (code, name, phone, USCC, region, level, tags), written to disk line by line. */
async function writeCsv(path: string, n: number): Promise<void> {
  const out = createWriteStream(path);
  const write = (s: string) =>
    out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once("drain", () => r()));
  await write("\ufeff客户编码,客户名称,联系电话,统一社会信用代码,地区编码,客户等级,标签\r\n");
  for (let i = 0; i < n; i++) {
    const first17 = `91310115${String(i).padStart(9, "0")}`;
    await write(
      `IMP-${i},上海浦东基准贸易有限公司${i},021-5888${String(i % 10000).padStart(4, "0")},` +
        `${first17}${usccCheckChar(first17)},310115,${"ABC"[i % 3]},"重点,华东"\r\n`,
    );
  }
  await new Promise<void>((r) => out.end(() => r()));
}

/** A contact CSV of `n` rows: two contacts (one of them primary) for each of the first n/2 customers of writeCsv. */
async function writeContactsCsv(path: string, n: number): Promise<void> {
  const out = createWriteStream(path);
  const write = (s: string) =>
    out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once("drain", () => r()));
  await write("\ufeff客户编码,联系人,手机,职务,主联系人\r\n");
  for (let i = 0; i < n; i++) {
    const customer = Math.floor(i / 2);
    await write(
      `IMP-${customer},联系人${i},139${String(i).padStart(8, "0")},${i % 2 ? "采购经理" : "总经理"},${i % 2 ? "否" : "是"}\r\n`,
    );
  }
  await new Promise<void>((r) => out.end(() => r()));
}

function sqsEvent(body: unknown): SQSEvent {
  return {
    Records: [
      {
        messageId: `bench-${Math.random()}`,
        receiptHandle: "rh",
        body: JSON.stringify(body),
        attributes: {
          ApproximateReceiveCount: "1",
          SentTimestamp: "1",
          SenderId: "bench",
          ApproximateFirstReceiveTimestamp: "1",
        },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:local:000000000000:jobs",
        awsRegion: "local",
      },
    ],
  };
}

const s3 = new S3Client({
  forcePathStyle: true,
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED",
});

/** Imports a generated CSV of `rows` customers through the jobs worker; the raw ceiling is measured first. */
async function benchOne(rows: number): Promise<Figures & { contacts?: Figures }> {
  const rawPerSecond = await rawBatchWrite(rawItemsFor(rows));
  const tenant = `bench-${Date.now().toString(36)}`;
  const customers = await runImport(tenant, "customers", rows, rawPerSecond, writeCsv);
  if (!CONTACTS) return customers;
  return { ...customers, contacts: await runImport(tenant, "contacts", rows, rawPerSecond, writeContactsCsv) };
}

type Figures = Awaited<ReturnType<typeof runImport>>;

/** Writes a file of `rows` rows with `make`, uploads it and runs its import to the end, measured. */
async function runImport(
  tenant: string,
  entity: "customers" | "contacts",
  rows: number,
  rawPerSecond: number,
  make: (path: string, n: number) => Promise<void>,
) {
  const file = join(dataDir, `bench-${entity}-${rows}.csv`);
  await make(file, rows);
  const size = (await stat(file)).size;
  const key = `bench/${tenant}/${entity}.csv`;
  await s3.send(
    new PutObjectCommand({
      Bucket: local.info.uploadsBucket,
      Key: key,
      Body: createReadStream(file),
      ContentLength: size,
    }),
  );
  await rm(file, { force: true });
  const caller = { tenant, userId: "u-bench", roles: ["admin" as const], dept: "d1" };
  const job = await createListedJob(
    caller,
    "import",
    { entity, mode: "upsert", matchOn: "code", dryRun: DRY_RUN, key, etag: "", source: "upload" },
    "bench",
  );
  const continuations: unknown[] = [{ jobId: job.id, tenant }];
  const handler = jobsWorker({ continueJob: async (m) => void continuations.push(m) });
  const memBefore = process.memoryUsage().rss;
  peakRss = memBefore;
  const rssByTenth: number[] = [];
  meter.read = 0;
  meter.write = 0;
  meter.items = 0;
  byCommand.clear();
  meter.on = true;
  const t0 = performance.now();
  let invocations = 0;
  while (continuations.length) {
    const msg = continuations.shift();
    const deadline = Date.now() + INVOCATION_MS;
    invocations++;
    const res = await handler(sqsEvent(msg), { getRemainingTimeInMillis: () => deadline - Date.now() } as Context);
    if (res.batchItemFailures.length) throw new Error("an import invocation failed");
    const now = await getJobItem(tenant, job.id);
    const processed = now?.processed ?? 0;
    while (rssByTenth.length < Math.floor((processed * 10) / rows)) rssByTenth.push(process.memoryUsage().rss);
    const secs = (performance.now() - t0) / 1000;
    process.stderr.write(
      `[${new Date().toISOString()}] ${rows} rows: invocation ${invocations}, ${processed} processed, ` +
        `${round(processed / secs)} rows/s, rss ${round(process.memoryUsage().rss / 2 ** 20)} MB\n`,
    );
  }
  const seconds = (performance.now() - t0) / 1000;
  meter.on = false;
  for (const [name, c] of [...byCommand].sort((a, b) => b[1].ms - a[1].ms)) {
    process.stderr.write(
      `  ${name}: ${c.calls} calls, ${round(c.ms / 1000)} s summed latency, ${round(c.units)} capacity units\n`,
    );
  }
  const done = await getJobItem(tenant, job.id);
  if (done?.status !== "succeeded") throw new Error(`import ended ${done?.status}: ${done?.failureReason ?? ""}`);
  const rowsPerSecond = rows / seconds;
  return {
    entity,
    rows,
    fileMB: round(size / 2 ** 20),
    seconds: round(seconds),
    invocations,
    counts: done.counts,
    rowsPerSecond: round(rowsPerSecond),
    rawBatchWriteItemsPerSecond: round(rawPerSecond),
    importEfficiency: round(rowsPerSecond / rawPerSecond, 3),
    peakRssMB: round(peakRss / 2 ** 20),
    readUnitsPerRow: round(meter.read / rows, 2),
    writeUnitsPerRow: round(meter.write / rows, 2),
    rssBeforeImportMB: round(memBefore / 2 ** 20),
    rssAtEachTenthMB: rssByTenth.map((b) => round(b / 2 ** 20)),
    dryRun: DRY_RUN,
    // Each row writes several items (profile, guards, audit entry, search tokens, classification); the same ratio per
    // item written shows how close the writing itself runs to the raw ceiling.
    itemsWrittenPerRow: round(meter.items / rows, 1),
    importItemsPerSec: round(meter.items / seconds),
    importItemEfficiency: round(meter.items / seconds / rawPerSecond, 3),
  };
}

try {
  await rawBatchWrite(2000); // warm DynamoDB Local's JVM up first
  const results = [];
  for (const rows of SIZES) {
    const r = await benchOne(rows);
    results.push(r);
    process.stderr.write(`${JSON.stringify(r)}\n`);
  }
  const machine = `${cpus().length} cores ${cpus()[0]?.model ?? ""}, ${round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  console.log(JSON.stringify({ date: new Date().toISOString(), machine, results }, null, 2));
  // For `npm run bench`: the largest size's figures under the keys of latest.json (a dry run apart: it writes nothing,
  // so it is not the import's rate).
  const big = results.at(-1)!;
  await mkdir("bench/results", { recursive: true });
  if (CONTACTS) {
    const c = big.contacts!;
    await writeFile(
      "bench/results/import-contacts.json",
      JSON.stringify(
        {
          at: new Date().toISOString(),
          rows: c.rows,
          contactRowsPerSec: c.rowsPerSecond,
          rawBatchWritePerSec: c.rawBatchWriteItemsPerSecond,
          contactImportEfficiency: c.importEfficiency,
          itemsWrittenPerRow: c.itemsWrittenPerRow,
          importItemEfficiency: c.importItemEfficiency,
          writeUnitsPerRow: c.writeUnitsPerRow,
          results,
        },
        null,
        2,
      ) + "\n",
    );
  } else
    await writeFile(
      DRY_RUN ? "bench/results/import-dry-run.json" : "bench/results/import.json",
      JSON.stringify(
        {
          at: new Date().toISOString(),
          rows: big.rows,
          importRowsPerSec: big.rowsPerSecond,
          rawBatchWritePerSec: big.rawBatchWriteItemsPerSecond,
          importEfficiency: big.importEfficiency,
          peakRssMb: big.peakRssMB,
          readUnitsPerRow: big.readUnitsPerRow,
          writeUnitsPerRow: big.writeUnitsPerRow,
          itemsWrittenPerRow: big.itemsWrittenPerRow,
          importItemsPerSec: big.importItemsPerSec,
          importItemEfficiency: big.importItemEfficiency,
          results,
        },
        null,
        2,
      ) + "\n",
    );
} finally {
  clearInterval(sampler);
  await local.stop();
  await rm(dataDir, { recursive: true, force: true });
}
