// Benchmarks through the real local runtime: latency and throughput per API call, and the exact DynamoDB requests and
// the capacity each call costs, read and write apart: ReturnConsumedCapacity, except a transaction's write units,
// counted by DynamoDB's rule (bench/written.ts; DynamoDB Local reports too little). Prints a table and writes
// bench/results/api.json (`npm run bench` merges it into latest.json). Run alone: node --import tsx bench/api.ts.
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
const { default: autocannon } = await import("autocannon");
const { meterRequests } = await import("./written.ts");

/**
 * Counts every DynamoDB request the handlers make while `meter.on`, with the capacity DynamoDB reports. The tenant
 * limiter's counter writes (one UpdateItem per block of requests an instance takes, see shared/http/throttle.ts) are
 * counted apart: they are a share of every route, not a request of the call's own path.
 */
const meter = { on: false, requests: 0, limiter: 0, capacity: 0, read: 0, write: 0, reportedWrite: 0 };
/** The partition key of a request's Key, whether the input is still native or already marshalled. */
const keyPk = (input: Record<string, unknown>) => {
  const pk = (input.Key as { PK?: unknown } | undefined)?.PK;
  return typeof pk === "string" ? pk : ((pk as { S?: string } | undefined)?.S ?? "");
};
const { settle } = meterRequests(
  dynamo,
  () => meter.on,
  (r) => {
    // A settled report is not a request: the units of transaction items weighed after the timed calls.
    if (!r.settled) {
      if (r.command === "UpdateItemCommand" && /#RATE#/.test(keyPk(r.input))) meter.limiter++;
      else meter.requests++;
    }
    meter.capacity += r.units;
    if (r.read) meter.read += r.units;
    else {
      meter.write += r.units;
      meter.reportedWrite += r.reportedUnits;
    }
  },
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

/** A call autocannon can make: method, path and body of the i-th request. */
interface LoadSpec {
  method: "GET" | "POST";
  path: (i: number) => string;
  body?: (i: number) => unknown;
}

/** Requests/s and latency under load: autocannon, CONCURRENCY connections, ROUNDS requests. */
async function underLoad(token: string, spec: LoadSpec) {
  let i = 0;
  const res = await autocannon({
    url: local.baseUrl,
    connections: CONCURRENCY,
    amount: ROUNDS,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    requests: [
      {
        method: spec.method,
        setupRequest: (req: Record<string, unknown>) => {
          const n = i++;
          return { ...req, path: spec.path(n), body: spec.body ? JSON.stringify(spec.body(n)) : undefined };
        },
      },
    ],
  });
  if (res.non2xx || res.errors) throw new Error(`autocannon: ${res.non2xx} non-2xx answers, ${res.errors} errors`);
  return {
    rps: round(res.requests.total / res.duration, 0),
    loadedP50Ms: res.latency.p50,
    loadedP99Ms: res.latency.p99,
  };
}

async function measure(name: string, fn: (i: number) => Promise<unknown>, load?: { token: string; spec: LoadSpec }) {
  const lat: number[] = [];
  for (let i = 0; i < 10; i++) await fn(i); // warm up
  meter.on = true;
  meter.requests = 0;
  meter.limiter = 0;
  meter.capacity = 0;
  meter.read = 0;
  meter.write = 0;
  meter.reportedWrite = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    await fn(i);
    lat.push(performance.now() - t);
  }
  meter.on = false;
  await settle(); // weighs the transactions' updated items, after the timed calls
  const perCall = {
    requests: round(meter.requests / ROUNDS),
    limiterRequests: round(meter.limiter / ROUNDS),
    capacityUnits: round(meter.capacity / ROUNDS),
    readUnits: round(meter.read / ROUNDS),
    writeUnits: round(meter.write / ROUNDS),
    /** What DynamoDB Local reported (too little for transactions; `writeUnits` counts them by DynamoDB's rule). */
    writeUnitsDynamoDbLocal: round(meter.reportedWrite / ROUNDS),
  };
  const single = { name, p50Ms: round(pct(lat, 50)), p99Ms: round(pct(lat, 99)) };
  if (load) return { ...single, ...(await underLoad(load.token, load.spec)), ...perCall };
  // Calls autocannon cannot repeat (each approval needs its own submitted order): CONCURRENCY loops of fetch.
  const loaded: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < ROUNDS) {
        const t = performance.now();
        await fn(next++);
        loaded.push(performance.now() - t);
      }
    }),
  );
  const rps = ROUNDS / ((performance.now() - t0) / 1000);
  return {
    ...single,
    rps: round(rps, 0),
    loadedP50Ms: round(pct(loaded, 50)),
    loadedP99Ms: round(pct(loaded, 99)),
    ...perCall,
  };
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
    await measure("get customer", (i) => call("GET", `/v1/customers/${pick(i)}`, token), {
      token,
      spec: { method: "GET", path: (i) => `/v1/customers/${pick(i)}` },
    }),
    await measure("list page (50)", () => call("GET", "/v1/customers?limit=50", token), {
      token,
      spec: { method: "GET", path: () => "/v1/customers?limit=50" },
    }),
    await measure("search q=shpd", () => call("GET", "/v1/customers?q=shpd&limit=20", token), {
      token,
      spec: { method: "GET", path: () => "/v1/customers?q=shpd&limit=20" },
    }),
    await measure("360 view", (i) => call("GET", `/v1/customers/${pick(i)}/360`, token), {
      token,
      spec: { method: "GET", path: (i) => `/v1/customers/${pick(i)}/360` },
    }),
    await measure("create customer", (i) => call("POST", "/v1/customers", token, { name: `压测客户${i}` }), {
      token,
      spec: { method: "POST", path: () => "/v1/customers", body: (i) => ({ name: `并发客户${i}` }) },
    }),
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
  console.log(
    "| call | p50 ms | p99 ms | req/s (concurrent) | p50 / p99 ms (concurrent) | DynamoDB requests/call | + limiter | RCU / WCU per call |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const r of all)
    console.log(
      `| ${r.name} | ${r.p50Ms} | ${r.p99Ms} | ${r.rps} | ${r.loadedP50Ms} / ${r.loadedP99Ms} | ${r.requests} | ${r.limiterRequests} | ${r.readUnits} / ${r.writeUnits} |`,
    );
  const get = results[0]!;
  const summary = {
    at: new Date().toISOString(),
    customers: SEED_CUSTOMERS,
    rounds: ROUNDS,
    concurrency: CONCURRENCY,
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
    limiterRequestsPerCall: Object.fromEntries(results.map((r) => [r.name, r.limiterRequests])),
    capacityPerCall: Object.fromEntries(results.map((r) => [r.name, r.capacityUnits])),
    calls: all,
  };
  await mkdir("bench/results", { recursive: true });
  await writeFile("bench/results/api.json", JSON.stringify(summary, null, 2) + "\n");
  console.log(
    `\napiOverheadP50Ms (get via API minus bare GetItem): ${summary.apiOverheadP50Ms}\nwritten bench/results/api.json`,
  );
} finally {
  await local.stop();
  await rm(dataDir, { recursive: true, force: true });
}
