// Classification recompute benchmark on DynamoDB Local: customers/s of the real `classify` job over N customers that
// are already classified (every built-in scheme plus a custom one), when a change of the custom scheme's rule moves
// about half of them (the apply a user starts), and when nothing moves (the nightly pass) — against the raw ceiling
// measured in the same run on the same table: a parallel Scan of the same profiles plus BatchWriteItem of each back.
// Seeding writes classified profiles and their distribution cells directly (the engine's own plans), not through the
// job. Run: npm run bench:recompute (BENCH_RECOMPUTE_CUSTOMERS, default 100000); prints JSON, writes
// bench/results/recompute.json.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
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
  const { ddb, dynamo } = await import("../shared/db/client.ts");
  const { countWrites } = await import("./written.ts");
  const written = countWrites(dynamo);
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

  const { createScheme, putScheme } = await import("../shared/domain/classification/service.ts");
  const { readConfig, reconcileWrites } = await import("../shared/domain/classification/repository.ts");
  const { planReconcile } = await import("../shared/domain/classification/engine.ts");
  const { SchemeInputSchema } = await import("../shared/domain/classification/schemas.ts");
  const admin = { tenant: TENANT, userId: "bench", roles: ["admin" as const], dept: undefined };
  const tier = (threshold: string) =>
    SchemeInputSchema.parse({
      name: "大客户",
      rules: [{ value: "key", when: { field: "stats.totalAmount", op: "gte", value: threshold } }],
      default: "other",
    });
  await createScheme(admin, "tier", tier("50000.00"));
  const config = await readConfig(TENANT);

  // Seed: profiles as the customers repository stores them, with order stats spread over the size/frequency tiers,
  // classified by the engine (categories, value score, snapshot) and the distribution cells summed from their plans.
  const owners = ["u1", "u2", "u3", "u4"];
  const depts = ["/hq/east/", "/hq/west/"];
  const industries = ["machinery", "retail", "energy", "food", "textile"];
  const now = Date.now();
  const at = new Date(now).toISOString();
  const cells = new Map<string, Record<string, unknown>>();
  const profiles = Array.from({ length: N }, (_, i) => {
    const id = newId(now - i);
    const shard = K.shard(id, env.LIST_SHARDS);
    const orders = i % 13;
    const dept = depts[i % 2]!;
    const profile: Record<string, unknown> = {
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
            lastOrderAt: new Date(now - (i % 30) * 86_400_000).toISOString(),
            lastActivityAt: new Date(now - (i % 30) * 86_400_000).toISOString(),
          }
        : {},
      version: 1,
      createdAt: at,
      updatedAt: at,
      GSI1PK: K.listPk(TENANT, shard),
      GSI1SK: K.listSk(id),
      GSI4PK: K.scopePk(TENANT, shard),
      GSI4SK: K.scopeSk(dept, id),
    };
    const plan = planReconcile(profile, config.schemes, config.model, now)!;
    for (const c of reconcileWrites(TENANT, id, plan, at).cells) {
      const k = `${c.key.PK}\u0000${c.key.SK}`;
      const cell = cells.get(k) ?? {
        ...c.key,
        entity: "class-cell",
        schemeId: c.move.schemeId,
        ownerId: c.move.owner,
        deptPath: c.move.dept,
        value: c.move.value,
        count: 0,
        revenue: 0,
      };
      cell.count = (cell.count as number) + c.move.count;
      cell.revenue = (cell.revenue as number) + c.move.revenue;
      cells.set(k, cell);
    }
    return {
      ...profile,
      categories: plan.categories,
      cls: plan.snapshot,
      valueScore: plan.score.score,
      valueFactors: plan.score.factors,
    };
  });
  let t = performance.now();
  await batchWrite([...profiles, ...cells.values()]);
  const seedSec = (performance.now() - t) / 1000;
  console.log(`seeded ${N} classified customers and ${cells.size} cells in ${seedSec.toFixed(1)} s`);

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
        const items = res.Items ?? [];
        await batchWrite(items, 2);
        rawItems += items.length;
        start = res.LastEvaluatedKey;
      } while (start);
    }),
  );
  const rawSec = (performance.now() - t) / 1000;
  const rawPerSec = rawItems / rawSec;
  console.log(`raw scan + batch write: ${Math.round(rawPerSec)} items/s`);

  /** Runs a classify job to the end in this process, as the jobs worker would (continuations included). */
  async function recompute(): Promise<{
    perSec: number;
    counts: Record<string, number>;
    runs: number;
    itemsPerSec: number;
  }> {
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
      params: { schemeId: "tier" },
      createdBy: "bench",
      createdAt: at,
      updatedAt: at,
      runs: 0,
      version: 1,
    });
    const start = performance.now();
    written.items = 0;
    written.on = true;
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
    written.on = false;
    const seconds = (performance.now() - start) / 1000;
    const job = (await getJobItem(TENANT, id))!;
    if (job.status !== "succeeded") throw new Error(`recompute job ended ${job.status}`);
    return { perSec: job.processed / seconds, counts: job.counts, runs, itemsPerSec: written.items / seconds };
  }

  // The apply a user starts: the custom scheme's threshold rises, about half the customers move from "key" to "other".
  await putScheme(admin, "tier", tier("175000.00"), 1);
  const apply = await recompute();
  console.log(`apply: ${Math.round(apply.perSec)} customers/s`, apply.counts);
  // Nothing to move: the nightly pass over the same customers.
  const steady = await recompute();
  const result = {
    customers: N,
    rawScanBatchWritePerSec: Math.round(rawPerSec),
    recomputePerSec: Math.round(apply.perSec),
    recomputeEfficiency: Number((apply.perSec / rawPerSec).toFixed(3)),
    applyCounts: apply.counts,
    // A moved customer writes its profile, its category's membership and history items and a reminder marker (plus the
    // cells' sums), against one item per customer in the raw reference: the same ratio per item written.
    recomputeItemsWrittenPerSec: Math.round(apply.itemsPerSec),
    recomputeItemEfficiency: Number((apply.itemsPerSec / rawPerSec).toFixed(3)),
    recomputeUnchangedPerSec: Math.round(steady.perSec),
    recomputeUnchangedEfficiency: Number((steady.perSec / rawPerSec).toFixed(3)),
    unchangedCounts: steady.counts,
    peakRssMb: Math.round(peakRss / 1048576),
  };
  console.log(JSON.stringify(result, null, 2));
  await mkdir("bench/results", { recursive: true });
  await writeFile(
    "bench/results/recompute.json",
    JSON.stringify({ at: new Date().toISOString(), ...result }, null, 2) + "\n",
  );
} finally {
  clearInterval(rssTimer);
  await db.stop();
  await rm(dataDir, { recursive: true, force: true });
}
