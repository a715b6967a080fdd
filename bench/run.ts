// Benchmarks through the real local runtime: latency and throughput per API call, and the exact DynamoDB requests and
// capacity each call costs (ReturnConsumedCapacity). Prints a table and writes bench/results/latest.json.
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";

process.env.LOG_LEVEL = "SILENT";
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const SEED_CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

const { startLocal } = await import("../local/runtime.ts");
const dataDir = await mkdtemp(join(tmpdir(), "cm-bench-"));
const local = await startLocal({
  port: 0,
  dataDir,
  schedulerEnabled: false,
  accessLog: false,
  // The limiter runs on every request (its cost is real) with limits the bench does not reach; throttle.test.ts tests limits.
  throttling: {
    default: { rateLimit: 100_000, burstLimit: 100_000 },
    publicRoutes: { rateLimit: 100_000, burstLimit: 100_000 },
    routes: {},
    tenant: { ratePerSecond: 100_000, burst: 1_000_000 },
  },
});
const { dynamo, ddb } = await import("../shared/db/client.ts");
const { GetCommand, QueryCommand } = await import("@aws-sdk/lib-dynamodb");

/** Counts every DynamoDB request the handlers make while `meter.on`, with the capacity DynamoDB reports. */
const meter = { on: false, requests: 0, capacity: 0 };
dynamo.middlewareStack.add(
  (next) => async (args) => {
    const input = args.input as Record<string, unknown>;
    if (meter.on) input.ReturnConsumedCapacity = "TOTAL";
    const out = await next(args);
    if (meter.on) {
      meter.requests++;
      const cc = (out.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
      for (const c of Array.isArray(cc) ? cc : cc ? [cc] : [])
        meter.capacity += (c as { CapacityUnits?: number }).CapacityUnits ?? 0;
    }
    return out;
  },
  { step: "initialize", name: "benchMeter" },
);

async function call(method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(local.baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path} -> ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

async function measure(name: string, fn: (i: number) => Promise<unknown>) {
  const lat: number[] = [];
  for (let i = 0; i < 10; i++) await fn(i); // warm up
  meter.on = true;
  meter.requests = 0;
  meter.capacity = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    await fn(i);
    lat.push(performance.now() - t);
  }
  meter.on = false;
  const perCall = { requests: round(meter.requests / ROUNDS), capacityUnits: round(meter.capacity / ROUNDS) };
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < ROUNDS) await fn(next++);
    }),
  );
  const rps = ROUNDS / ((performance.now() - t0) / 1000);
  return { name, p50Ms: round(pct(lat, 50)), p99Ms: round(pct(lat, 99)), rps: round(rps, 0), ...perCall };
}

try {
  const tokenRes = await fetch(`${local.baseUrl}/_local/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ tenant: "bench", sub: "u-bench", roles: ["admin"], dept: "d1" }),
  });
  const { token } = (await tokenRes.json()) as { token: string };
  const ids: string[] = [];
  const names = ["上海浦东贸易", "杭州西湖科技", "深圳华强电子", "北京中关村软件", "广州天河物流"];
  for (let i = 0; i < SEED_CUSTOMERS; i++) {
    const c = await call("POST", "/v1/customers", token, {
      name: `${names[i % names.length]}${i}号`,
      region: "330106",
    });
    ids.push(c.id);
    for (let j = 0; j < 2; j++) await call("POST", `/v1/customers/${c.id}/contacts`, token, { name: `联系人${j}` });
  }
  const pick = (i: number) => ids[(i * 7919) % ids.length]!;
  const results = [
    await measure("get customer", (i) => call("GET", `/v1/customers/${pick(i)}`, token)),
    await measure("list page (50)", () => call("GET", "/v1/customers?limit=50", token)),
    await measure("search q=shpd", () => call("GET", "/v1/customers?q=shpd&limit=20", token)),
    await measure("360 view", (i) => call("GET", `/v1/customers/${pick(i)}/360`, token)),
    await measure("create customer", (i) => call("POST", "/v1/customers", token, { name: `压测客户${i}` })),
  ];
  // An order approval: order, customer stats, 6 sales rollup cells and the audit entry in one transaction. Each call
  // needs a fresh submitted order (warm-up, measured rounds and the concurrent rounds).
  const submitted: string[] = [];
  for (let i = 0; i < 10 + 2 * ROUNDS; i++) {
    const line = { sku: "A-1", name: "螺丝", quantity: 2, unitPrice: "10.50" };
    const o = await call("POST", "/v1/orders", token, { customerId: pick(i), lines: [line] });
    await call("POST", `/v1/orders/${o.id}/submit`, token);
    submitted.push(o.id);
  }
  results.push(await measure("approve order", () => call("POST", `/v1/orders/${submitted.shift()}/approve`, token)));
  // The same reads without the API: a bare GetItem / Query loop from this process.
  const { env } = await import("../shared/config/env.ts");
  const { customerKeys } = await import("../shared/domain/customers/keys.ts");
  const bare = [
    await measure("bare GetItem", (i) =>
      ddb.send(
        new GetCommand({
          TableName: env.TABLE_NAME,
          Key: { PK: customerKeys.pk("bench", pick(i)), SK: "PROFILE" },
          ConsistentRead: true,
        }),
      ),
    ),
    await measure("bare Query (360)", (i) =>
      ddb.send(
        new QueryCommand({
          TableName: env.TABLE_NAME,
          KeyConditionExpression: "PK = :pk AND SK < :e",
          ExpressionAttributeValues: { ":pk": customerKeys.pk("bench", pick(i)), ":e": "~" },
          ConsistentRead: true,
        }),
      ),
    ),
  ];
  const all = [...results, ...bare];
  console.log(
    `\nmachine: ${cpus().length} cores (${cpus()[0]?.model}), ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}; DynamoDB Local; ${SEED_CUSTOMERS} customers x 2 contacts; ${ROUNDS} calls each, concurrency ${CONCURRENCY} for req/s\n`,
  );
  console.log("| call | p50 ms | p99 ms | req/s | DynamoDB requests/call | capacity units/call |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const r of all)
    console.log(`| ${r.name} | ${r.p50Ms} | ${r.p99Ms} | ${r.rps} | ${r.requests} | ${r.capacityUnits} |`);
  const get = results[0]!;
  const summary = {
    at: new Date().toISOString(),
    machine: {
      cores: cpus().length,
      cpu: cpus()[0]?.model,
      memGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    apiP50Ms: get.p50Ms,
    apiP99Ms: get.p99Ms,
    apiOverheadP50Ms: round(get.p50Ms - bare[0]!.p50Ms),
    requestsPerCall: Object.fromEntries(results.map((r) => [r.name, r.requests])),
    capacityPerCall: Object.fromEntries(results.map((r) => [r.name, r.capacityUnits])),
    calls: all,
  };
  await mkdir("bench/results", { recursive: true });
  await writeFile("bench/results/latest.json", JSON.stringify(summary, null, 2) + "\n");
  console.log(
    `\napiOverheadP50Ms (get via API minus bare GetItem): ${summary.apiOverheadP50Ms}\nwritten bench/results/latest.json`,
  );
} finally {
  await local.stop();
  await rm(dataDir, { recursive: true, force: true });
}
