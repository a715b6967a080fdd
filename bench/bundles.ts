// Lambda bundle sizes and module load times: every function of functions/manifest.ts bundled with esbuild exactly as
// the CDK construct bundles it (minified ESM for node22, @aws-sdk/* left to the runtime), its size from the esbuild
// metafile with the biggest inputs, and the time a fresh Node process takes to import the bundle (median of 3).
// Run alone: node --import tsx bench/bundles.ts (writes bench/results/bundles.json).
import { execFileSync } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { httpFunctions, queues } from "../functions/manifest.ts";

/** The API functions' bundle target of issue #9. */
export const BUNDLE_TARGET_KB = 250;

export interface BundleFigure {
  name: string;
  entry: string;
  kind: "api" | "worker";
  kb: number;
  loadMs: number;
  /** Biggest inputs (package or folder) and their KB in the bundle. */
  top: Record<string, number>;
}

const OUT = resolve("bench/.bundles");

/** Which package or source folder an esbuild input path belongs to. */
function owner(input: string): string {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  if (m) return m[1]!;
  return input.split("/").slice(0, 2).join("/");
}

/** Milliseconds a fresh `node` takes to import the bundle (median of three runs), measured inside the child. */
function loadTime(file: string): number {
  const script =
    `const t = performance.now(); await import(${JSON.stringify(file)}); ` +
    `process.stdout.write(String(performance.now() - t));`;
  const runs = [0, 1, 2].map(() =>
    Number(
      execFileSync(process.execPath, ["--input-type=module", "-e", script], {
        env: {
          ...process.env,
          TABLE_NAME: "bench",
          AWS_REGION: "us-east-1",
          LOG_LEVEL: "SILENT",
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        },
        encoding: "utf8",
      }),
    ),
  );
  return Math.round(runs.sort((a, b) => a - b)[1]! * 10) / 10;
}

export async function measureBundles(): Promise<BundleFigure[]> {
  await mkdir(OUT, { recursive: true });
  const units = [
    ...Object.entries(httpFunctions).map(([name, f]) => ({ name, entry: f.entry, kind: "api" as const })),
    ...Object.entries(queues).map(([name, q]) => ({
      name: `${name} worker`,
      entry: q.worker,
      kind: "worker" as const,
    })),
  ];
  const out: BundleFigure[] = [];
  for (const u of units) {
    const file = join(OUT, `${u.name.replace(/\W+/g, "-")}.mjs`);
    const res = await build({
      entryPoints: [u.entry],
      bundle: true,
      minify: true,
      charset: "utf8",
      format: "esm",
      platform: "node",
      target: "node22",
      mainFields: ["module", "main"],
      external: ["@aws-sdk/*"],
      banner: { js: "import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);" },
      outfile: file,
      metafile: true,
      logLevel: "silent",
    });
    const output = res.metafile.outputs[Object.keys(res.metafile.outputs).find((k) => k.endsWith(".mjs"))!]!;
    const byOwner = new Map<string, number>();
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      byOwner.set(owner(input), (byOwner.get(owner(input)) ?? 0) + bytesInOutput);
    }
    const top = Object.fromEntries(
      [...byOwner]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 4)
        .map(([k, b]) => [k, Math.round(b / 1024)]),
    );
    out.push({ ...u, kb: Math.round(output.bytes / 1024), loadMs: loadTime(file), top });
  }
  await rm(OUT, { recursive: true, force: true });
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await measureBundles();
  console.log("| function | kind | bundle KB | load ms | biggest inputs (KB) |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const f of figures) {
    const top = Object.entries(f.top)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    console.log(`| ${f.name} | ${f.kind} | ${f.kb} | ${f.loadMs} | ${top} |`);
  }
  await mkdir("bench/results", { recursive: true });
  await writeFile(
    "bench/results/bundles.json",
    JSON.stringify({ at: new Date().toISOString(), figures }, null, 2) + "\n",
  );
}
