// Damaged files: valid CSV (UTF-8, GBK) and XLSX files with bytes flipped, cut short, spliced or repeated at seeded
// random places, each imported by the real worker. Whatever the damage, the invocation ends without asking SQS to
// retry (a bad file cannot get better), and the job ends: succeeded with per-row errors, or failed with a reason.
import { describe, expect, it } from "vitest";
import { getJobItem } from "../../shared/domain/jobs/repository.ts";
import { aCaller } from "../support/builders.ts";
import { anImport, aSheet, fakeContext, sqsEvent, toGbk } from "../support/import-jobs.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);

/** A small seeded generator: CI runs one fixed seed; FUZZ_SEED=<n> runs another (the seed is in the test's name). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const rows = [
  ["客户编码", "客户名称", "联系电话", "客户等级", "标签"],
  ...Array.from({ length: 30 }, (_, i) => [
    `FZ-${i}`,
    `杭州损坏文件测试${i}号`,
    `0571-8800${String(i).padStart(4, "0")}`,
    "ABC"[i % 3]!,
    "重点,华东",
  ]),
];
const csv = rows.map((r) => r.map((c) => (c.includes(",") ? `"${c}"` : c)).join(",")).join("\r\n") + "\r\n";

const FILES: [string, Buffer][] = [
  ["UTF-8 CSV with BOM", Buffer.from(`\ufeff${csv}`, "utf8")],
  ["GBK CSV", toGbk(csv)],
  ["XLSX", aSheet("客户", rows)],
];

/** One damaged copy of `file`: some bytes flipped, the file cut short, a slice spliced in elsewhere, or repeated. */
function damaged(file: Buffer, rand: () => number): { how: string; bytes: Buffer } {
  const at = () => Math.floor(rand() * file.length);
  const b = Buffer.from(file);
  switch (Math.floor(rand() * 4)) {
    case 0: {
      const n = 1 + Math.floor(rand() * 20);
      for (let i = 0; i < n; i++) b[at()] = Math.floor(rand() * 256);
      return { how: `${n} bytes flipped`, bytes: b };
    }
    case 1: {
      const end = at();
      return { how: `cut at ${end}`, bytes: b.subarray(0, end) };
    }
    case 2: {
      const [from, to, where] = [at(), at(), at()];
      const slice = b.subarray(Math.min(from, to), Math.max(from, to));
      return {
        how: `spliced ${slice.length} bytes at ${where}`,
        bytes: Buffer.concat([b.subarray(0, where), slice, b.subarray(where)]),
      };
    }
    default: {
      const from = at();
      return { how: `tail from ${from} repeated`, bytes: Buffer.concat([b, b.subarray(from)]) };
    }
  }
}

describe(`damaged import files (seed ${SEED})`, () => {
  it.each(FILES)(
    "%s: every damaged copy ends its job, succeeded or failed with a reason, and is never retried",
    async (_, file) => {
      const rand = rng(SEED);
      const admin = aCaller();
      for (let i = 0; i < 12; i++) {
        const { how, bytes } = damaged(file, rand);
        const imp = await anImport(admin, bytes);
        const res = await imp.handler(sqsEvent(imp.message), fakeContext());
        expect(res, how).toEqual({ batchItemFailures: [] });
        const job = (await getJobItem(admin.tenant, imp.jobId))!;
        expect(["succeeded", "failed"], how).toContain(job.status);
        if (job.status === "failed") expect(job.failureReason, how).toEqual(expect.stringMatching(/\S/));
        else {
          const c = job.counts as Record<string, number>;
          expect(c.inserted! + c.updated! + c.skipped! + c.failed!, how).toBe(job.processed);
          expect(job.errors.length, how).toBeLessThanOrEqual(c.failed!);
        }
      }
    },
    120_000,
  );
});
