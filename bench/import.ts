// Import benchmark on the local runtime (DynamoDB Local, s3rver): rows/s of a customer CSV import run by the jobs
// worker in this process (continuing across simulated 60 s Lambda invocations), against the raw BatchWriteItem
// ceiling of the same table measured in the same run, and the peak RSS of this process.
//   node --openssl-legacy-provider --import tsx bench/import.ts         (BENCH_IMPORT_ROWS=100000 by default)
//   BENCH_IMPORT_ROWS=1000000 BENCH_RAW_ITEMS=50000 node --openssl-legacy-provider --import tsx bench/import.ts
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import type { Context, SQSEvent } from "aws-lambda";

process.env.LOG_LEVEL = "SILENT";
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const ROWS = Number(process.env.BENCH_IMPORT_ROWS ?? 100_000);
const RAW_ITEMS = Number(process.env.BENCH_RAW_ITEMS ?? Math.min(ROWS, 50_000));
const RAW_CONCURRENCY = Number(process.env.BENCH_RAW_CONCURRENCY ?? 8);
/** Simulated Lambda timeout per invocation (the jobs queue's 60 s). */
const INVOCATION_MS = Number(process.env.BENCH_INVOCATION_MS ?? 60_000);

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

const { startLocal } = await import("../local/runtime.ts");
const dataDir = await mkdtemp(join(tmpdir(), "cm-bench-import-"));
const local = await startLocal({ port: 0, dataDir, schedulerEnabled: false, accessLog: false, logLevel: "error" });
const { ddb } = await import("../shared/db/client.ts");
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

try {
  await rawBatchWrite(Math.min(2000, RAW_ITEMS)); // warm DynamoDB Local's JVM up first
  const rawPerSecond = await rawBatchWrite(RAW_ITEMS);

  const file = join(dataDir, "bench.csv");
  await writeCsv(file, ROWS);
  const size = (await stat(file)).size;
  const s3 = new S3Client({
    forcePathStyle: true,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  const tenant = `bench-${Date.now().toString(36)}`;
  const key = `bench/${tenant}/customers.csv`;
  await s3.send(
    new PutObjectCommand({
      Bucket: local.info.uploadsBucket,
      Key: key,
      Body: createReadStream(file),
      ContentLength: size,
    }),
  );
  const caller = { tenant, userId: "u-bench", roles: ["admin" as const], dept: "d1" };
  const job = await createListedJob(
    caller,
    "import",
    { entity: "customers", mode: "upsert", matchOn: "code", dryRun: false, key, etag: "", source: "upload" },
    "bench",
  );
  const continuations: unknown[] = [{ jobId: job.id, tenant }];
  const handler = jobsWorker({ continueJob: async (m) => void continuations.push(m) });
  const memBefore = peakRss;
  peakRss = process.memoryUsage().rss;
  const t0 = performance.now();
  let invocations = 0;
  while (continuations.length) {
    const msg = continuations.shift();
    const deadline = Date.now() + INVOCATION_MS;
    invocations++;
    const res = await handler(sqsEvent(msg), { getRemainingTimeInMillis: () => deadline - Date.now() } as Context);
    if (res.batchItemFailures.length) throw new Error("an import invocation failed");
  }
  const seconds = (performance.now() - t0) / 1000;
  const done = await getJobItem(tenant, job.id);
  if (done?.status !== "succeeded") throw new Error(`import ended ${done?.status}: ${done?.failureReason ?? ""}`);
  const rowsPerSecond = ROWS / seconds;
  const result = {
    rows: ROWS,
    fileMB: round(size / 2 ** 20),
    seconds: round(seconds),
    invocations,
    counts: done.counts,
    rowsPerSecond: round(rowsPerSecond),
    rawBatchWriteItemsPerSecond: round(rawPerSecond),
    importEfficiency: round(rowsPerSecond / rawPerSecond, 3),
    peakRssMB: round(peakRss / 2 ** 20),
    rssBeforeImportMB: round(memBefore / 2 ** 20),
    machine: `${cpus().length} cores ${cpus()[0]?.model ?? ""}, ${round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  clearInterval(sampler);
  await local.stop();
  await rm(dataDir, { recursive: true, force: true });
}
