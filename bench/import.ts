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
//   BENCH_IMPORT_RESULT=<file>: the figures to that file instead (a smaller run that should not replace import.json).
//   BENCH_IMPORT_DIR=<folder>: one size, run across several processes (a 1M-row insert takes longer than a working
//   session here). DynamoDB Local, the S3 files and the run's state (`bench-state.json`) live in that folder; a run
//   that is stopped (killed, or the machine shut down) is started again with the same command and carries the same
//   import job on from its checkpoint, as a Lambda invocation would after a crash. The rate counts the time spent in
//   invocations only; the raw ceiling is measured again at the start of every process (segment), and the rate is
//   compared with their time-weighted mean. Delete the folder to start afresh. Its figures go to
//   bench/results/import-long.json (shown by `npm run bench` beside the import of import.json).
// Progress goes to stderr (one line per simulated invocation); the figures, as JSON, to stdout.
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
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
/** A run across processes (see the header), or undefined for a one-process run in a temporary folder. */
const LONG_DIR = process.env.BENCH_IMPORT_DIR;
if (LONG_DIR && (SIZES.length !== 1 || DRY_RUN || CONTACTS)) {
  throw new Error("BENCH_IMPORT_DIR runs one size of customer inserts");
}
const dataDir = LONG_DIR ?? (await mkdtemp(join(tmpdir(), "cm-bench-import-")));
const local = await startLocal({ port: 0, dataDir, schedulerEnabled: false, accessLog: false, logLevel: "error" });
const { ddb, dynamo } = await import("../shared/db/client.ts");

/**
 * Capacity the import's own requests consume, read and write apart, while `meter.on`: ReturnConsumedCapacity, except a
 * transaction's write units, counted by DynamoDB's rule (bench/written.ts; `reportedWrite` keeps DynamoDB Local's).
 */
const meter = { on: false, read: 0, write: 0, reportedWrite: 0, items: 0 };
/** Requests and summed latency per command while `meter.on` (printed to stderr: where an import spends its time). */
const byCommand = new Map<string, { calls: number; ms: number; units: number }>();
const { itemsWritten, meterRequests } = await import("./written.ts");
const { settle } = meterRequests(
  dynamo,
  () => meter.on,
  (r) => {
    const c = byCommand.get(r.command) ?? { calls: 0, ms: 0, units: 0 };
    if (!r.settled) {
      // A settled report is not a request: the units of a transaction's updated items, weighed after it.
      meter.items += itemsWritten(r.command, r.input);
      c.calls++;
      c.ms += r.ms;
    }
    c.units += r.units;
    byCommand.set(r.command, c);
    if (r.read) meter.read += r.units;
    else {
      meter.write += r.units;
      meter.reportedWrite += r.reportedUnits;
    }
  },
);
const { BatchWriteCommand } = await import("@aws-sdk/lib-dynamodb");
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
  await writeLines(path, "\ufeff客户编码,客户名称,联系电话,统一社会信用代码,地区编码,客户等级,标签", n, (i) => {
    const first17 = `91310115${String(i).padStart(9, "0")}`;
    return (
      `IMP-${i},上海浦东基准贸易有限公司${i},021-5888${String(i % 10000).padStart(4, "0")},` +
      `${first17}${usccCheckChar(first17)},310115,${"ABC"[i % 3]},"重点,华东"`
    );
  });
}

/** A CSV file of `header` and `n` rows made by `row`, streamed to disk (CRLF line ends, as Excel writes them). */
async function writeLines(path: string, header: string, n: number, row: (i: number) => string): Promise<void> {
  const out = createWriteStream(path);
  const write = (s: string) =>
    out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once("drain", () => r()));
  await write(`${header}\r\n`);
  for (let i = 0; i < n; i++) await write(`${row(i)}\r\n`);
  await new Promise<void>((r) => out.end(() => r()));
}

/** A contact CSV of `n` rows: two contacts (one of them primary) for each of the first n/2 customers of writeCsv. */
async function writeContactsCsv(path: string, n: number): Promise<void> {
  await writeLines(
    path,
    "\ufeff客户编码,联系人,手机,职务,主联系人",
    n,
    (i) =>
      `IMP-${Math.floor(i / 2)},联系人${i},139${String(i).padStart(8, "0")},${i % 2 ? "采购经理" : "总经理"},${i % 2 ? "否" : "是"}`,
  );
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
  if (LONG_DIR) return runImport("", "customers", rows, rawPerSecond, writeCsv, await readState(rows));
  const tenant = `bench-${Date.now().toString(36)}`;
  const customers = await runImport(tenant, "customers", rows, rawPerSecond, writeCsv);
  if (!CONTACTS) return customers;
  return { ...customers, contacts: await runImport(tenant, "contacts", rows, rawPerSecond, writeContactsCsv) };
}

type Figures = Awaited<ReturnType<typeof runImport>>;

/** What a run across processes keeps in BENCH_IMPORT_DIR/bench-state.json between them. */
interface LongState {
  rows: number;
  tenant: string;
  jobId: string;
  size: number;
  /** Seconds spent in invocations, over all segments. */
  seconds: number;
  invocations: number;
  read: number;
  write: number;
  /** Write units as DynamoDB Local reported them (absent in a state saved before it was kept). */
  reportedWrite?: number;
  items: number;
  peakRss: number;
  rssBefore: number;
  rssByTenth: number[];
  byCommand: Record<string, { calls: number; ms: number; units: number }>;
  segments: {
    startedAt: string;
    rawItemsPerSecond: number;
    seconds: number;
    processedFrom: number;
    processedTo: number;
  }[];
}

const statePath = () => join(LONG_DIR!, "bench-state.json");

/** The state of the run in BENCH_IMPORT_DIR, or a fresh one when it has none (or one of another size). */
async function readState(rows: number): Promise<{ state?: LongState }> {
  try {
    const state = JSON.parse(await readFile(statePath(), "utf8")) as LongState;
    if (state.rows === rows) return { state };
    process.stderr.write(`bench-state.json is of ${state.rows} rows, not ${rows}: starting afresh\n`);
  } catch {
    // no state yet
  }
  return {};
}

/** Writes a file of `rows` rows with `make`, uploads it and runs its import to the end, measured. */
async function runImport(
  tenant: string,
  entity: "customers" | "contacts",
  rows: number,
  rawPerSecond: number,
  make: (path: string, n: number) => Promise<void>,
  long?: { state?: LongState },
) {
  const state = long?.state;
  if (state) tenant = state.tenant;
  else if (long) tenant = `bench-${Date.now().toString(36)}`;
  let jobId: string;
  let size: number;
  if (state) {
    ({ jobId, size } = state);
    // The previous process may have died holding the job's lease: wait until it expires, as a redelivery would.
    const held = (await getJobItem(tenant, jobId))?.leaseUntil ?? 0;
    if (held > Date.now()) {
      process.stderr.write(`waiting ${round((held - Date.now()) / 1000)} s for the previous process's lease\n`);
      await new Promise((r) => setTimeout(r, held - Date.now() + 1000));
    }
  } else {
    const file = join(dataDir, `bench-${entity}-${rows}.csv`);
    await make(file, rows);
    size = (await stat(file)).size;
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
    jobId = job.id;
  }
  const continuations: unknown[] = [{ jobId, tenant }];
  const handler = jobsWorker({ continueJob: async (m) => void continuations.push(m) });
  const memBefore = state?.rssBefore ?? process.memoryUsage().rss;
  peakRss = Math.max(state?.peakRss ?? 0, process.memoryUsage().rss);
  const rssByTenth: number[] = [...(state?.rssByTenth ?? [])];
  meter.read = state?.read ?? 0;
  meter.write = state?.write ?? 0;
  meter.reportedWrite = state?.reportedWrite ?? 0;
  meter.items = state?.items ?? 0;
  byCommand.clear();
  for (const [k, v] of Object.entries(state?.byCommand ?? {})) byCommand.set(k, { ...v });
  let seconds = state?.seconds ?? 0;
  let invocations = state?.invocations ?? 0;
  const from = (await getJobItem(tenant, jobId))?.processed ?? 0;
  const segment = {
    startedAt: new Date().toISOString(),
    rawItemsPerSecond: rawPerSecond,
    seconds: 0,
    processedFrom: from,
    processedTo: from,
  };
  const segments = [...(state?.segments ?? []), segment];
  /** Keeps the run's state for the next process (after the job's creation, then after every invocation). */
  const save = async () => {
    const kept: LongState = {
      rows,
      tenant,
      jobId,
      size,
      seconds,
      invocations,
      read: meter.read,
      write: meter.write,
      reportedWrite: meter.reportedWrite,
      items: meter.items,
      peakRss,
      rssBefore: memBefore,
      rssByTenth,
      byCommand: Object.fromEntries(byCommand),
      segments,
    };
    await writeFile(statePath(), JSON.stringify(kept, null, 2) + "\n");
  };
  if (long) await save();
  meter.on = true;
  while (continuations.length) {
    const msg = continuations.shift();
    const t0 = performance.now();
    const deadline = Date.now() + INVOCATION_MS;
    invocations++;
    const res = await handler(sqsEvent(msg), { getRemainingTimeInMillis: () => deadline - Date.now() } as Context);
    if (res.batchItemFailures.length) throw new Error("an import invocation failed");
    const now = await getJobItem(tenant, jobId);
    const took = (performance.now() - t0) / 1000;
    seconds += took;
    segment.seconds += took;
    await settle(); // weighs the invocation's transaction items by their size, outside the timed part
    const processed = now?.processed ?? 0;
    segment.processedTo = processed;
    while (rssByTenth.length < Math.floor((processed * 10) / rows)) rssByTenth.push(process.memoryUsage().rss);
    process.stderr.write(
      `[${new Date().toISOString()}] ${rows} rows: invocation ${invocations}, ${processed} processed, ` +
        `${round(processed / seconds)} rows/s, rss ${round(process.memoryUsage().rss / 2 ** 20)} MB\n`,
    );
    if (long) await save();
  }
  meter.on = false;
  // Across processes: the raw ceiling of each segment, weighted by the time the import spent in it.
  if (long && seconds > 0)
    rawPerSecond = segments.reduce((sum, g) => sum + g.rawItemsPerSecond * g.seconds, 0) / seconds;
  for (const [name, c] of [...byCommand].sort((a, b) => b[1].ms - a[1].ms)) {
    process.stderr.write(
      `  ${name}: ${c.calls} calls, ${round(c.ms / 1000)} s summed latency, ${round(c.units)} capacity units\n`,
    );
  }
  const done = await getJobItem(tenant, jobId);
  if (done?.status !== "succeeded") throw new Error(`import ended ${done?.status}: ${done?.failureReason ?? ""}`);
  // Across processes, rows done in an invocation that a stop cut short were written in time no segment counted (nor
  // its requests): the rates and per-row figures use the rows of the counted invocations only.
  const counted = long ? segments.reduce((sum, g) => sum + g.processedTo - g.processedFrom, 0) : rows;
  const rowsPerSecond = counted / seconds;
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
    readUnitsPerRow: round(meter.read / counted, 2),
    writeUnitsPerRow: round(meter.write / counted, 2),
    /** What DynamoDB Local reported (too little for transactions; `writeUnitsPerRow` counts them by DynamoDB's rule). */
    writeUnitsPerRowDynamoDbLocal: round(meter.reportedWrite / counted, 2),
    rssBeforeImportMB: round(memBefore / 2 ** 20),
    rssAtEachTenthMB: rssByTenth.map((b) => round(b / 2 ** 20)),
    dryRun: DRY_RUN,
    // Each row writes several items (profile, guards, audit entry, search tokens, classification); the same ratio per
    // item written shows how close the writing itself runs to the raw ceiling.
    itemsWrittenPerRow: round(meter.items / counted, 1),
    importItemsPerSec: round(meter.items / seconds),
    importItemEfficiency: round(meter.items / seconds / rawPerSecond, 3),
    ...(long ? { segments, rowsInCountedInvocations: counted } : {}),
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
      process.env.BENCH_IMPORT_RESULT ??
        (DRY_RUN
          ? "bench/results/import-dry-run.json"
          : LONG_DIR
            ? "bench/results/import-long.json"
            : "bench/results/import.json"),
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
          writeUnitsPerRowDynamoDbLocal: big.writeUnitsPerRowDynamoDbLocal,
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
  if (!LONG_DIR) await rm(dataDir, { recursive: true, force: true });
}
