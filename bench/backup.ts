// Backup and restore throughput through the real local runtime (DynamoDB Local, s3rver): seeds N customers, each with
// 2 contacts and 2 orders (raw items shaped like the real ones), then times a backup, a restore drill and a restore
// replace run by the jobs worker in this process, and prints items/s for each.
// node --openssl-legacy-provider --import tsx bench/backup.ts   (BENCH_BACKUP_CUSTOMERS, default 100000)
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

process.env.LOG_LEVEL = "SILENT";
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const CUSTOMERS = Number(process.env.BENCH_BACKUP_CUSTOMERS ?? 100_000);

const { startLocal } = await import("../local/runtime.ts");
const dataDir = await mkdtemp(join(tmpdir(), "cm-bench-backup-"));
const local = await startLocal({ port: 0, dataDir, schedulerEnabled: false, accessLog: false, throttling: false });
const { dynamo } = await import("../shared/db/client.ts");
const { BatchWriteItemCommand } = await import("@aws-sdk/client-dynamodb");
const { env } = await import("../shared/config/env.ts");
const { customerKeys } = await import("../shared/domain/customers/keys.ts");
const { newId } = await import("../shared/db/ids.ts");
const { jobsWorker } = await import("../functions/workers/jobs-worker.ts");
const { startBackup } = await import("../shared/domain/backups/backup.ts");
const { requestRestore } = await import("../shared/domain/backups/restore.ts");
const { getBackupItem } = await import("../shared/domain/backups/repository.ts");
const { getJobItem } = await import("../shared/domain/jobs/repository.ts");
type JobMessage = import("../shared/domain/jobs/schemas.ts").JobMessage;

const tenant = "bench";
const admin = { tenant, userId: "u-admin", roles: ["admin" as const], dept: "d1" };

function itemsOf(i: number) {
  const id = newId();
  const pk = { S: customerKeys.pk(tenant, id) };
  const now = { S: new Date().toISOString() };
  const profile = {
    PK: pk,
    SK: { S: customerKeys.profileSk() },
    GSI1PK: { S: customerKeys.listPk(tenant, customerKeys.shard(id, 8)) },
    GSI1SK: { S: id },
    entity: { S: "customer" },
    id: { S: id },
    code: { S: `C${String(i).padStart(8, "0")}` },
    name: { S: `基准客户${i} 贸易有限公司` },
    type: { S: "enterprise" },
    stage: { S: "customer" },
    ownerId: { S: "u-admin" },
    stats: { M: { contactCount: { N: "2" }, orderCount: { N: "2" }, totalAmount: { N: "250000" } } },
    version: { N: "3" },
    createdAt: now,
    updatedAt: now,
  };
  const contacts = [1, 2].map((k) => ({
    PK: pk,
    SK: { S: customerKeys.contactSk(`${id}${k}`) },
    entity: { S: "contact" },
    name: { S: `联系人${k}` },
    mobile: { S: "+8613812345678" },
    version: { N: "1" },
  }));
  const orders = [1, 2].map((k) => ({
    PK: pk,
    SK: { S: `ORDER#${id}${k}` },
    entity: { S: "order" },
    status: { S: "approved" },
    lines: { L: [{ M: { sku: { S: "SKU-1" }, quantity: { N: "5" }, unitPrice: { N: "25000" } } }] },
    amount: { N: "125000" },
    version: { N: "2" },
  }));
  return [profile, ...contacts, ...orders];
}

async function seed(): Promise<number> {
  let written = 0;
  const batch: Record<string, unknown>[] = [];
  const flushes: Promise<void>[] = [];
  const flush = async (items: Record<string, unknown>[]) => {
    let pending = items.map((Item) => ({ PutRequest: { Item } }));
    while (pending.length) {
      const res = await dynamo.send(
        new BatchWriteItemCommand({ RequestItems: { [env.TABLE_NAME]: pending as never } }),
      );
      pending = (res.UnprocessedItems?.[env.TABLE_NAME] ?? []) as never;
    }
  };
  for (let i = 0; i < CUSTOMERS; i++) {
    batch.push(...itemsOf(i));
    while (batch.length >= 25) {
      flushes.push(flush(batch.splice(0, 25)));
      written += 25;
      if (flushes.length >= 8) await Promise.all(flushes.splice(0));
    }
  }
  if (batch.length) {
    written += batch.length;
    flushes.push(flush(batch.splice(0)));
  }
  await Promise.all(flushes);
  return written;
}

/** Runs a job to the end in this process (continuations delivered here too); resolves seconds taken. */
async function run(first: JobMessage): Promise<number> {
  const queue: JobMessage[] = [first];
  const handler = jobsWorker({ continueJob: async (m) => void queue.push(m) });
  const t0 = performance.now();
  for (let n = 1; queue.length; n++) {
    const msg = queue.shift()!;
    const context = { awsRequestId: `bench-${n}`, getRemainingTimeInMillis: () => 600_000 } as never;
    const event = {
      Records: [{ messageId: `bench-${n}`, body: JSON.stringify(msg), attributes: { ApproximateReceiveCount: "1" } }],
    } as never;
    const res = await handler(event, context);
    if (res.batchItemFailures.length) throw new Error(`job ${msg.jobId} failed a delivery`);
  }
  return (performance.now() - t0) / 1000;
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
try {
  const ts = performance.now();
  const items = await seed();
  console.log(
    `seeded ${fmt(CUSTOMERS)} customers, ${fmt(items)} items in ${((performance.now() - ts) / 1000).toFixed(1)} s`,
  );

  const sent: JobMessage[] = [];
  const send = async (m: JobMessage) => void sent.push(m);
  const { backupId } = await startBackup(admin, "on-demand", "bench", send);
  const backupS = await run(sent.pop()!);
  const b = (await getBackupItem(tenant, backupId))!;

  const drill = await requestRestore(admin, backupId, { mode: "drill" }, "bench", send);
  const drillS = await run(sent.pop()!);
  const drilled = (await getBackupItem(tenant, backupId))!.drill!;

  const replace = await requestRestore(admin, backupId, { mode: "replace" }, "bench", send);
  const replaceS = await run(sent.pop()!);
  const replaced = (await getJobItem(tenant, replace.jobId))!;

  const rows = [
    [
      "backup",
      b.items,
      backupS,
      `${b.chunks.length} chunks, ${fmt(b.chunks.reduce((s, c) => s + c.bytes, 0) / 1024)} KiB gzip`,
    ],
    ["restore drill", drilled.verifiedItems, drillS, `${drilled.status}; job ${drill.jobId}`],
    ["restore replace", b.items, replaceS, `${replaced.status}`],
  ] as const;
  console.log(`\n| run | items | seconds | items/s | note |\n| --- | --- | --- | --- | --- |`);
  for (const [name, n, s, note] of rows)
    console.log(`| ${name} | ${fmt(n)} | ${s.toFixed(1)} | ${fmt(n / s)} | ${note} |`);
} finally {
  await local.stop();
  await rm(dataDir, { recursive: true, force: true });
}
