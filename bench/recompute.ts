// Classification recompute benchmark on DynamoDB Local: customers/s of the real `classify` job (every active scheme,
// value score, cells, membership, history, job markers) over N seeded customers, against the raw ceiling measured in
// the same run on the same table: a parallel Scan of the same profiles plus BatchWriteItem of each one back.
// Run: npm run bench:recompute (BENCH_RECOMPUTE_CUSTOMERS, default 100000).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

process.env.LOG_LEVEL = "SILENT";
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
process.env.TABLE_NAME = "bench-recompute";
process.env.AWS_REGION = "us-east-1";
process.env.AWS_ACCESS_KEY_ID = "local";
process.env.AWS_SECRET_ACCESS_KEY = "local";

const N = Number(process.env.BENCH_RECOMPUTE_CUSTOMERS ?? 100_000);
const TENANT = "bench";
const quiet = { info: () => undefined, warn: (m: string) => console.warn(m), error: (m: string) => console.error(m) };

const { startDynamoDbLocal, ensureTable } = await import("../local/dynamodb.ts");
const dataDir = await mkdtemp(join(tmpdir(), "cm-bench-recompute-"));
const db = await startDynamoDbLocal({ dbPath: join(dataDir, "db"), log: quiet });
process.env.AWS_ENDPOINT_URL_DYNAMODB = db.endpoint;
let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);

try {
  await ensureTable(db.endpoint, process.env.TABLE_NAME, quiet);
  const { ddb } = await import("../shared/db/client.ts");
  const { BatchWriteCommand, ScanCommand } = await import("@aws-sdk/lib-dynamodb");
  const { newId } = await import("../shared/db/ids.ts");
  const { customerKeys: K } = await import("../shared/domain/customers/keys.ts");
  const { env } = await import("../shared/config/env.ts");
  const { insertJob, getJobItem } = await import("../shared/domain/jobs/repository.ts");
  const { processJobMessage } = await import("../shared/domain/jobs/runner.ts");
  const { runClassify } = await import("../shared/domain/classification/recompute.ts");

  /** Writes items with BatchWriteItem (25 a request, `lanes` requests at once), retrying UnprocessedItems. */
  async function batchWrite(items: Record<string, unknown>[], lanes = 16) {
    let next = 0;
    const lane = async () => {
      while (next < items.length) {
        const chunk = items.slice(next, next + 25);
        next += 25;
        let req: Record<string, unknown>[] | undefined = chunk.map((Item) => ({ PutRequest: { Item } }));
        for (let attempt = 0; req?.length; attempt++) {
          const res = await ddb.send(new BatchWriteCommand({ RequestItems: { [env.TABLE_NAME]: req as never } }));
          req = res.UnprocessedItems?.[env.TABLE_NAME] as Record<string, unknown>[] | undefined;
          if (req?.length) await new Promise((r) => setTimeout(r, 10 * 2 ** attempt));
        }
      }
    };
    await Promise.all(Array.from({ length: lanes }, lane));
  }

  // Seed: profiles as the customers repository stores them, with order stats spread over the size/frequency tiers.
  const owners = ["u1", "u2", "u3", "u4"];
  const depts = ["/hq/east/", "/hq/west/"];
  const industries = ["machinery", "retail", "energy", "food", "textile"];
  const now = Date.now();
  const profiles = Array.from({ length: N }, (_, i) => {
    const id = newId(now - i);
    const shard = K.shard(id, env.LIST_SHARDS);
    const orders = i % 13;
    const dept = depts[i % 2]!;
    return {
      PK: K.pk(TENANT, id),
      SK: K.profileSk(),
      entity: "customer",
      id,
      code: `C${String(i).padStart(8, "0")}`,
      name: `客户${i}`,
      type: "enterprise",
      industry: industries[i % industries.length],
      region: "330106",
      ownerId: owners[i % owners.length],
      deptPath: dept,
      stage: "formal",
      categories: {},
      stats: orders
        ? {
            orderCount: orders,
            approvals: orders,
            totalAmount: (i % 97) * 250_000,
            returnedAmount: 0,
            lastOrderAt: new Date(now - (i % 400) * 86_400_000).toISOString(),
          }
        : {},
      version: 1,
      createdAt: new Date(now).toISOString(),
      updatedAt: new Date(now).toISOString(),
      GSI1PK: K.listPk(TENANT, shard),
      GSI1SK: K.listSk(id),
      GSI4PK: K.scopePk(TENANT, shard),
      GSI4SK: K.scopeSk(dept, id),
    };
  });
  let t = performance.now();
  await batchWrite(profiles);
  const seedSec = (performance.now() - t) / 1000;
  console.log(`seeded ${N} customers in ${seedSec.toFixed(1)} s (${Math.round(N / seedSec)} items/s)`);

  // Raw ceiling: parallel Scan (8 segments) of the profiles and BatchWriteItem of each, categories set, back.
  t = performance.now();
  let rawItems = 0;
  await Promise.all(
    Array.from({ length: 8 }, async (_, segment) => {
      let start: Record<string, unknown> | undefined;
      do {
        const res = await ddb.send(
          new ScanCommand({
            TableName: env.TABLE_NAME,
            Segment: segment,
            TotalSegments: 8,
            FilterExpression: "entity = :c",
            ExpressionAttributeValues: { ":c": "customer" },
            ExclusiveStartKey: start,
            Limit: 500,
          }),
        );
        const items = (res.Items ?? []).map((i) => ({ ...i, categories: { raw: "x" } }));
        await batchWrite(items, 2);
        rawItems += items.length;
        start = res.LastEvaluatedKey;
      } while (start);
    }),
  );
  const rawSec = (performance.now() - t) / 1000;
  const rawPerSec = rawItems / rawSec;

  /** Runs a classify job to the end in this process, as the jobs worker would (continuations included). */
  async function recompute(): Promise<{ perSec: number; counts: Record<string, number>; runs: number }> {
    const id = newId();
    const at = new Date().toISOString();
    await insertJob(TENANT, {
      id,
      type: "classify",
      status: "queued",
      processed: 0,
      total: N,
      percent: 0,
      counts: { changed: 0, unchanged: 0, dormant: 0 },
      errors: [],
      params: { schemeId: "size" },
      createdBy: "bench",
      createdAt: at,
      updatedAt: at,
      runs: 0,
      version: 1,
    });
    const start = performance.now();
    let continued = true;
    let runs = 0;
    while (continued) {
      continued = false;
      runs++;
      const deadline = Date.now() + 900_000; // a 15-minute Lambda
      await processJobMessage(
        { jobId: id, tenant: TENANT },
        { getRemainingTimeInMillis: () => deadline - Date.now() },
        { receiveCount: 1, maxReceiveCount: 5 },
        { runners: { classify: runClassify }, continueJob: async () => void (continued = true) },
      );
    }
    const job = (await getJobItem(TENANT, id))!;
    if (job.status !== "succeeded") throw new Error(`recompute job ended ${job.status}`);
    return { perSec: job.processed / ((performance.now() - start) / 1000), counts: job.counts, runs };
  }

  const first = await recompute();
  const second = await recompute();
  const result = {
    customers: N,
    rawScanBatchWritePerSec: Math.round(rawPerSec),
    recomputePerSec: Math.round(first.perSec),
    recomputeEfficiency: Number((first.perSec / rawPerSec).toFixed(3)),
    recomputeUnchangedPerSec: Math.round(second.perSec),
    recomputeUnchangedEfficiency: Number((second.perSec / rawPerSec).toFixed(3)),
    firstRunCounts: first.counts,
    secondRunCounts: second.counts,
    peakRssMb: Math.round(peakRss / 1048576),
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  clearInterval(rssTimer);
  await db.stop();
  await rm(dataDir, { recursive: true, force: true });
}
