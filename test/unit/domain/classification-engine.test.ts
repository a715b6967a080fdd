// The classification engine without a database: categories, the reconcile plan's cell moves, value score, pyramid,
// dormancy.
import { describe, expect, it } from "vitest";
import { BUILT_IN_SCHEMES } from "../../../shared/domain/classification/builtins.ts";
import { classify, dueForDormancy, planReconcile } from "../../../shared/domain/classification/engine.ts";
import { SCORE_SCHEME } from "../../../shared/domain/classification/keys.ts";
import type { Scheme } from "../../../shared/domain/classification/schemas.ts";
import { DEFAULT_VALUE_MODEL, pyramidOf, tierOf, valueScore } from "../../../shared/domain/classification/value.ts";

const NOW = Date.parse("2026-06-01T00:00:00Z");
const size = BUILT_IN_SCHEMES.find((s) => s.id === "size")!;
const region = BUILT_IN_SCHEMES.find((s) => s.id === "region")!;
const schemes: Scheme[] = [size, region];

const aCustomer = (o: Record<string, unknown> = {}) => ({
  id: "C1",
  ownerId: "u1",
  deptPath: "/hq/",
  region: "330106",
  stage: "formal",
  createdAt: "2025-01-01T00:00:00Z",
  categories: {},
  stats: {},
  ...o,
});

describe("classify", () => {
  it("takes the first matching rule, else the default; valueFrom takes the field's leading characters", () => {
    expect(classify(size, aCustomer({ stats: { totalAmount: 150_000_000 } }), NOW)).toBe("large");
    expect(classify(size, aCustomer({ stats: { totalAmount: 10_000_000 } }), NOW)).toBe("medium");
    expect(classify(size, aCustomer(), NOW)).toBe("small");
    expect(classify(region, aCustomer(), NOW)).toBe("33");
    expect(classify(region, aCustomer({ region: undefined }), NOW)).toBe("unknown");
  });
});

describe("planReconcile", () => {
  it("counts a first classification in the new cells and records where each category came from", () => {
    const plan = planReconcile(aCustomer({ stats: { totalAmount: 20_000_000 } }), schemes, DEFAULT_VALUE_MODEL, NOW)!;
    expect(plan.categories).toEqual({ size: "medium", region: "33" });
    expect(plan.expectedRev).toBeUndefined();
    expect(plan.cells.filter((c) => c.schemeId !== SCORE_SCHEME)).toEqual([
      { schemeId: "size", dept: "/hq/", owner: "u1", value: "medium", count: 1, revenue: 20_000_000 },
      { schemeId: "region", dept: "/hq/", owner: "u1", value: "33", count: 1, revenue: 20_000_000 },
    ]);
    expect(plan.membership).toEqual({ size: "medium", region: "33" });
    expect(plan.history).toEqual({ size: [null, "medium"], region: [null, "33"] });
  });

  it("is nothing to do once applied, and moves only the difference afterwards", () => {
    const first = aCustomer({ stats: { totalAmount: 20_000_000 } });
    const p1 = planReconcile(first, schemes, DEFAULT_VALUE_MODEL, NOW)!;
    const stored = { ...first, categories: p1.categories, cls: p1.snapshot, valueFactors: p1.score.factors };
    expect(planReconcile(stored, schemes, DEFAULT_VALUE_MODEL, NOW)).toBeUndefined();

    // More revenue in the same category: the size cell gains revenue only; no membership or history change.
    const richer = { ...stored, stats: { totalAmount: 30_000_000 } };
    const p2 = planReconcile(richer, schemes, DEFAULT_VALUE_MODEL, NOW)!;
    expect(p2.expectedRev).toBe(1);
    expect(p2.cells.find((c) => c.schemeId === "size")).toMatchObject({
      value: "medium",
      count: 0,
      revenue: 10_000_000,
    });
    expect(p2.membership).toEqual({});
    expect(p2.history).toEqual({});

    // A new owner moves every cell: out of the old owner's, into the new one's.
    const moved = { ...stored, ownerId: "u2", deptPath: "/hq/east/" };
    const p3 = planReconcile(moved, schemes, DEFAULT_VALUE_MODEL, NOW)!;
    const sizeCells = p3.cells.filter((c) => c.schemeId === "size");
    expect(sizeCells).toEqual([
      { schemeId: "size", dept: "/hq/", owner: "u1", value: "medium", count: -1, revenue: -20_000_000 },
      { schemeId: "size", dept: "/hq/east/", owner: "u2", value: "medium", count: 1, revenue: 20_000_000 },
    ]);
    expect(p3.membership).toEqual({ size: "medium", region: "33" });
  });

  it("takes a binned customer out of every cell and the membership index", () => {
    const c = aCustomer();
    const p1 = planReconcile(c, schemes, DEFAULT_VALUE_MODEL, NOW)!;
    const stored = { ...c, categories: p1.categories, cls: p1.snapshot, valueFactors: p1.score.factors };
    const p2 = planReconcile({ ...stored, deletedAt: "2026-05-01T00:00:00Z" }, schemes, DEFAULT_VALUE_MODEL, NOW)!;
    expect(p2.cells.every((c) => c.count === -1)).toBe(true);
    expect(p2.membership).toEqual({ size: null, region: null });
  });
});

describe("value score and pyramid", () => {
  it("weights recency, frequency and monetary into 0-100 and shows each factor's points", () => {
    const best = valueScore(
      aCustomer({ stats: { lastOrderAt: "2026-06-01T00:00:00Z", orderCount: 24, totalAmount: 100_000_000 } }),
      DEFAULT_VALUE_MODEL,
      NOW,
    );
    expect(best).toEqual({ score: 100, factors: { recency: 30, frequency: 30, monetary: 40 } });
    const none = valueScore(aCustomer(), DEFAULT_VALUE_MODEL, NOW);
    expect(none.score).toBe(0);
    const half = valueScore(
      aCustomer({ stats: { lastOrderAt: "2025-12-01T00:00:00Z", orderCount: 12, totalAmount: 0 } }),
      DEFAULT_VALUE_MODEL,
      NOW,
    );
    expect(half.factors.frequency).toBe(15);
    expect(half.factors.recency).toBeCloseTo(15, 0);
    expect(half.factors.monetary).toBe(0);
  });

  it("scores custom factors linearly between min and max", () => {
    const model = { ...DEFAULT_VALUE_MODEL, weights: { recency: 0, frequency: 0, monetary: 0 } };
    model.custom = [{ name: "staff", field: "customFields.staff", weight: 1, min: 0, max: 200 }];
    expect(valueScore(aCustomer({ customFields: { staff: 50 } }), model, NOW)).toEqual({
      score: 25,
      factors: { recency: 0, frequency: 0, monetary: 0, staff: 25 },
    });
  });

  it("cuts the top 5% and next 15% from a histogram", () => {
    const h = new Map<number, number>();
    for (let s = 1; s <= 100; s++) h.set(s, 1);
    const p = pyramidOf(h, { top: 0.05, next: 0.15 });
    expect(p.tiers.top).toEqual({ minScore: 96, count: 5 });
    expect(p.tiers.next).toEqual({ minScore: 81, count: 15 });
    expect(p.tiers.base.count).toBe(80);
    expect([tierOf(97, p), tierOf(85, p), tierOf(80, p)]).toEqual(["top", "next", "base"]);
  });
});

describe("dormancy", () => {
  const withDormancy: Scheme[] = [{ ...size, dormancyDays: { small: 90, large: 365 } }];
  it("turns a formal customer dormant after its category's days without orders or interactions", () => {
    const quiet = aCustomer({ categories: { size: "small" }, stats: { lastInteractionAt: "2026-02-01T00:00:00Z" } });
    expect(dueForDormancy(quiet, withDormancy, NOW)).toBe(true);
    const large = { ...quiet, categories: { size: "large" } };
    expect(dueForDormancy(large, withDormancy, NOW)).toBe(false);
    const recent = { ...quiet, stats: { lastOrderAt: "2026-05-20T00:00:00Z" } };
    expect(dueForDormancy(recent, withDormancy, NOW)).toBe(false);
    expect(dueForDormancy({ ...quiet, stage: "lost" }, withDormancy, NOW)).toBe(false);
  });
});

describe("groupReconciles", () => {
  it("groups customers of one shard together, so they share their cells and each group fits one transaction", async () => {
    const { groupReconciles, reconcileWrites } = await import("../../../shared/domain/classification/repository.ts");
    const { shardOf } = await import("../../../shared/db/ids.ts");
    const { MAX_TRANSACTION_ITEMS } = await import("../../../shared/db/transact.ts");
    const shards = Number(process.env.LIST_SHARDS ?? 8);
    const at = new Date(NOW).toISOString();
    const entries = Array.from({ length: 120 }, (_, i) => {
      const id = `01JCUSTOMER${String(i).padStart(15, "0")}`;
      return { customerId: id, plan: planReconcile(aCustomer({ id }), BUILT_IN_SCHEMES, DEFAULT_VALUE_MODEL, NOW)! };
    });
    expect(new Set(entries.map((e) => shardOf(e.customerId, shards))).size).toBeGreaterThan(4);
    const groups = groupReconciles("acme", entries, at);
    // Everyone once, and every group within one transaction (its own items plus one ADD per distinct cell).
    expect(
      groups
        .flat()
        .map((e) => e.customerId)
        .sort(),
    ).toEqual(entries.map((e) => e.customerId).sort());
    for (const g of groups) {
      const writes = g.map((e) => reconcileWrites("acme", e.customerId, e.plan, at));
      const cells = new Set(writes.flatMap((w) => w.cells.map((c) => `${c.key.PK}|${c.key.SK}`)));
      expect(writes.reduce((n, w) => n + w.own.length, 0) + cells.size).toBeLessThanOrEqual(MAX_TRANSACTION_ITEMS);
    }
    // A group spans one shard, except where one shard's customers end and the next one's begin.
    const spans = groups.map((g) => new Set(g.map((e) => shardOf(e.customerId, shards))).size);
    expect(spans.filter((n) => n > 1).length).toBeLessThan(shards);
    expect(Math.max(...spans)).toBeLessThanOrEqual(2);
  });
});
