// Backup and restore throughput through the real local runtime (DynamoDB Local, s3rver): seeds N customers, each with
// 2 contacts and 2 orders (raw items shaped by the repositories' key builders, written with BatchWriteItem: the write
// reference), scans them raw (the read reference), then times a backup, optionally a restore drill, and a restore
// replace run by the jobs worker in this process, and prints items/s for each and the peak RSS of this process.
// node --openssl-legacy-provider --import tsx bench/backup.ts   (BENCH_BACKUP_CUSTOMERS, default 100000;
// BENCH_BACKUP_DRILL=1 adds the drill)
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
const { BatchWriteItemCommand, ScanCommand } = await import("@aws-sdk/client-dynamodb");
const { env } = await import("../shared/config/env.ts");
const { customerKeys } = await import("../shared/domain/customers/keys.ts");
const { orderKeys } = await import("../shared/domain/orders/keys.ts");
const { newId } = await import("../shared/db/ids.ts");
const { jobsWorker } = await import("../functions/workers/jobs-worker.ts");
const { startBackup } = await import("../shared/domain/backups/backup.ts");
const { requestRestore } = await import("../shared/domain/backups/restore.ts");
const { getBackupItem } = await import("../shared/domain/backups/repository.ts");
const { getJobItem } = await import("../shared/domain/jobs/repository.ts");
type JobMessage = import("../shared/domain/jobs/schemas.ts").JobMessage;

const tenant = "bench";
const admin = { tenant, userId: "u-admin", roles: ["admin" as const], dept: "d1" };
const shards = () => env.LIST_SHARDS;

/**
 * One customer as the repositories store it: profile (list, owner and activity indexes), code guard, 2 contacts,
 * 2 approved orders (list, owner and status indexes) with their id pointers. Keys from the key builders.
 */
function itemsOf(i: number) {
  const id = newId();
  const pk = { S: customerKeys.pk(tenant, id) };
  const at = new Date().toISOString();
  const now = { S: at };
  const code = `C${String(i).padStart(8, "0")}`;
  const profile = {
    PK: pk,
    SK: { S: customerKeys.profileSk() },
    GSI1PK: { S: customerKeys.listPk(tenant, customerKeys.shard(id, shards())) },
    GSI1SK: { S: customerKeys.listSk(id) },
    GSI2PK: { S: customerKeys.ownerPk(tenant, "u-admin") },
    GSI2SK: { S: customerKeys.ownerSk(id) },
    GSI3PK: { S: customerKeys.activityPk(tenant, customerKeys.shard(id, shards())) },
    GSI3SK: { S: customerKeys.activitySk(at, id) },
    entity: { S: "customer" },
    id: { S: id },
    code: { S: code },
    name: { S: `基准客户${i} 贸易有限公司` },
    type: { S: "enterprise" },
    stage: { S: "customer" },
    ownerId: { S: "u-admin" },
    primaryContactId: { S: `${id}1` },
    stats: {
      M: {
        contactCount: { N: "2" },
        orderCount: { N: "2" },
        approvals: { N: "2" },
        totalAmount: { N: "250000" },
        receivable: { N: "250000" },
        lastOrderAt: now,
        firstOrderAt: now,
      },
    },
    version: { N: "1" },
    createdAt: now,
    updatedAt: now,
    createdBy: { S: "u-admin" },
    updatedBy: { S: "u-admin" },
  };
  const guard = {
    PK: { S: customerKeys.codeGuardPk(tenant, code) },
    SK: { S: customerKeys.guardSk() },
    entity: { S: "guard" },
    customerId: { S: id },
  };
  const contacts = [1, 2].map((k) => ({
    PK: pk,
    SK: { S: customerKeys.contactSk(`${id}${k}`) },
    entity: { S: "contact" },
    id: { S: `${id}${k}` },
    customerId: { S: id },
    name: { S: `联系人${k}` },
    mobile: { S: "+8613812345678" },
    isPrimary: { BOOL: k === 1 },
    version: { N: "1" },
    createdAt: now,
    updatedAt: now,
    createdBy: { S: "u-admin" },
    updatedBy: { S: "u-admin" },
  }));
  const orders = [1, 2].flatMap((k) => {
    const oid = `${id}${k}`;
    const shard = orderKeys.shard(oid, shards());
    return [
      {
        PK: { S: orderKeys.pk(tenant, id) },
        SK: { S: orderKeys.sk(oid) },
        GSI1PK: { S: orderKeys.listPk(tenant, shard) },
        GSI1SK: { S: oid },
        GSI2PK: { S: orderKeys.ownerPk(tenant, "u-admin") },
        GSI2SK: { S: oid },
        GSI3PK: { S: orderKeys.statusPk(tenant, "approved", shard) },
        GSI3SK: { S: orderKeys.statusSk(at, oid) },
        entity: { S: "order" },
        id: { S: oid },
        code: { S: `SO2026${String(i * 2 + k).padStart(6, "0")}` },
        customerId: { S: id },
        status: { S: "approved" },
        lines: {
          L: [
            {
              M: {
                sku: { S: "SKU-1" },
                quantity: { N: "5" },
                unitPrice: { N: "25000" },
                returnedQuantity: { N: "0" },
              },
            },
          ],
        },
        amount: { N: "125000" },
        returnedAmount: { N: "0" },
        paidAmount: { N: "0" },
        payments: { L: [] },
        paymentStatus: { S: "unpaid" },
        ownerId: { S: "u-admin" },
        approvedAt: now,
        version: { N: "2" },
        createdAt: now,
        updatedAt: now,
        createdBy: { S: "u-admin" },
        updatedBy: { S: "u-admin" },
      },
      {
        PK: { S: orderKeys.refPk(tenant, oid) },
        SK: { S: orderKeys.refSk() },
        entity: { S: "order-ref" },
        customerId: { S: id },
      },
    ];
  });
  return [profile, guard, ...contacts, ...orders];
}

/** Raw BatchWriteItem of every customer's items, 8 requests in flight: the write reference. */
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

/** Raw parallel Scan of the tenant's items (same segments, page size and filter as the backup): the read reference. */
async function rawScan(): Promise<number> {
  const counts = await Promise.all(
    Array.from({ length: 4 }, async (_, segment) => {
      let n = 0;
      let start: Record<string, never> | undefined;
      do {
        const res = await dynamo.send(
          new ScanCommand({
            TableName: env.TABLE_NAME,
            Segment: segment,
            TotalSegments: 4,
            Limit: 1000,
            ConsistentRead: true,
            ExclusiveStartKey: start,
            FilterExpression: "begins_with(PK, :p)",
            ExpressionAttributeValues: { ":p": { S: `T#${tenant}#` } },
          }),
        );
        n += res.Items?.length ?? 0;
        start = res.LastEvaluatedKey as never;
      } while (start);
      return n;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
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
const DRILL = process.env.BENCH_BACKUP_DRILL === "1";
const rssMiB = () => Math.round(process.resourceUsage().maxRSS / 1024);
const rows: [string, number, number, string][] = [];
const row = (name: string, n: number, s: number, note: string) => {
  rows.push([name, n, s, note]);
  console.log(
    `${name}: ${fmt(n)} items in ${s.toFixed(1)} s = ${fmt(n / s)} items/s (${note}); peak RSS ${rssMiB()} MiB`,
  );
};
try {
  console.log(`${new Date().toISOString()} seeding ${fmt(CUSTOMERS)} customers (2 contacts, 2 orders each)`);
  const ts = performance.now();
  const items = await seed();
  row("reference: raw BatchWriteItem (seed)", items, (performance.now() - ts) / 1000, "25 per request, 8 in flight");

  const tr = performance.now();
  const scanned = await rawScan();
  row("reference: raw parallel Scan", scanned, (performance.now() - tr) / 1000, "4 segments, filtered on the tenant");

  const sent: JobMessage[] = [];
  const send = async (m: JobMessage) => void sent.push(m);
  const { backupId } = await startBackup(admin, "on-demand", "bench", send);
  const backupS = await run(sent.pop()!);
  const b = (await getBackupItem(tenant, backupId))!;
  const kib = fmt(b.chunks.reduce((s, c) => s + c.bytes, 0) / 1024);
  row("backup", b.items, backupS, `${b.chunks.length} chunks, ${kib} KiB gzip`);

  if (DRILL) {
    const drill = await requestRestore(admin, backupId, { mode: "drill" }, "bench", send);
    const drillS = await run(sent.pop()!);
    const drilled = (await getBackupItem(tenant, backupId))!.drill!;
    row("restore drill", drilled.verifiedItems, drillS, `${drilled.status}; job ${drill.jobId}`);
  }

  const replace = await requestRestore(admin, backupId, { mode: "replace" }, "bench", send);
  const replaceS = await run(sent.pop()!);
  const replaced = (await getJobItem(tenant, replace.jobId))!;
  row("restore replace", b.items, replaceS, `job ${replaced.status}: verify, write back every item, sweep`);

  console.log(`\n${new Date().toISOString()}: ${fmt(CUSTOMERS)} customers, peak RSS of this process ${rssMiB()} MiB`);
  console.log(`\n| run | items | seconds | items/s | note |\n| --- | --- | --- | --- | --- |`);
  for (const [name, n, s, note] of rows)
    console.log(`| ${name} | ${fmt(n)} | ${s.toFixed(1)} | ${fmt(n / s)} | ${note} |`);
} finally {
  await local.stop();
  await rm(dataDir, { recursive: true, force: true });
}
