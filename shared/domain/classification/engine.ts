// The classification engine, pure: a customer's category under each scheme, its value score, and what must change
// in the table (profile, distribution cells, membership index items, history) to bring the stored classification of
// one customer up to date. The repository turns the plan into one transaction.
import { evaluate, readPath } from "../conditions/condition.ts";
import type { Scheme } from "./schemas.ts";
import { SCORE_SCHEME } from "./keys.ts";
import { type ValueModel, valueScore } from "./value.ts";

/** The category a scheme gives a stored customer item at `now`. */
export function classify(
  scheme: Pick<Scheme, "rules" | "valueFrom" | "default">,
  item: Record<string, unknown>,
  now: number,
) {
  if (scheme.valueFrom) {
    const v = readPath(item, scheme.valueFrom.field);
    if (typeof v !== "string" && typeof v !== "number") return scheme.default;
    const s = String(v)
      .replace(/[#:]/g, "_")
      .trim()
      .slice(0, scheme.valueFrom.length ?? 64);
    return s || scheme.default;
  }
  for (const r of scheme.rules) if (evaluate(r.when, item, now)) return r.value;
  return scheme.default;
}

/** What the distribution cells and membership items currently reflect for a customer (stored on its profile). */
export interface ClassSnapshot {
  /** Increases with every reconciliation; the next one is conditional on it. */
  rev: number;
  live: boolean;
  owner: string;
  dept: string;
  /** Net amount (fen) counted as the customer's revenue in its cells. */
  revenue: number;
  score: number;
  /** The bulk recompute job that wrote this snapshot (how a repeated page knows it changed the customer before). */
  job?: string;
}

export interface CellMove {
  schemeId: string;
  dept: string;
  owner: string;
  value: string;
  count: number;
  revenue: number;
}

export interface ReconcilePlan {
  categories: Record<string, string>;
  snapshot: ClassSnapshot;
  expectedRev: number | undefined;
  score: { score: number; factors: Record<string, number> };
  cells: CellMove[];
  /** Membership items to write (scheme -> category) or delete (scheme -> null). */
  membership: Record<string, string | null>;
  /** Category changes to record: scheme -> [from, to]. */
  history: Record<string, [string | null, string]>;
}

/** Equality of flat records whatever the key order (DynamoDB returns map keys in its own order). */
const sameRecord = (a: Record<string, unknown> | undefined, b: Record<string, unknown>) => {
  const x = a ?? {};
  const keys = Object.keys(x);
  return keys.length === Object.keys(b).length && keys.every((k) => x[k] === b[k]);
};

const pad = (score: number) => String(score).padStart(3, "0");

/**
 * The plan that brings a customer's stored classification up to date, or undefined when it already is. Cells move by
 * difference: the old contribution (what the snapshot says was counted) out, the new one in.
 */
export function planReconcile(
  item: Record<string, unknown>,
  schemes: readonly Scheme[],
  model: ValueModel,
  now: number,
): ReconcilePlan | undefined {
  const stored = (item.categories ?? {}) as Record<string, string>;
  const old = item.cls as ClassSnapshot | undefined;
  const categories: Record<string, string> = {};
  for (const s of schemes) if (s.active) categories[s.id] = classify(s, item, now);
  const stats = (item.stats ?? {}) as Record<string, unknown>;
  const score = valueScore(item, model, now);
  const snapshot: ClassSnapshot = {
    rev: (old?.rev ?? 0) + 1,
    live: !item.deletedAt,
    owner: String(item.ownerId ?? ""),
    dept: String(item.deptPath ?? ""),
    revenue: Number(stats.totalAmount ?? 0) - Number(stats.returnedAmount ?? 0),
    score: score.score,
  };
  const same =
    old &&
    item.valueFactors !== undefined &&
    sameRecord(item.valueFactors as Record<string, unknown>, score.factors) &&
    sameRecord(stored, categories) &&
    (["live", "owner", "dept", "revenue", "score"] as const).every((k) => old[k] === snapshot[k]);
  if (same) return undefined;

  const cells = new Map<string, CellMove>();
  const move = (schemeId: string, s: Omit<ClassSnapshot, "rev">, value: string, sign: 1 | -1) => {
    if (!s.live) return;
    const revenue = schemeId === SCORE_SCHEME ? 0 : s.revenue;
    const k = [schemeId, s.dept, s.owner, value].join("\u0000");
    const c = cells.get(k) ?? { schemeId, dept: s.dept, owner: s.owner, value, count: 0, revenue: 0 };
    c.count += sign;
    c.revenue += sign * revenue;
    cells.set(k, c);
  };
  const membership: Record<string, string | null> = {};
  const history: Record<string, [string | null, string]> = {};
  for (const id of new Set([...Object.keys(stored), ...Object.keys(categories)])) {
    const before = stored[id];
    const after = categories[id];
    if (old && before !== undefined) move(id, old, before, -1);
    if (after !== undefined) move(id, snapshot, after, 1);
    const placeChanged =
      !old || old.live !== snapshot.live || old.owner !== snapshot.owner || old.dept !== snapshot.dept;
    if (after === undefined || !snapshot.live) {
      if (before !== undefined && old?.live !== false) membership[id] = null;
    } else if (before !== after || placeChanged) {
      membership[id] = after;
    }
    if (after !== undefined && before !== after) history[id] = [before ?? null, after];
  }
  if (old) move(SCORE_SCHEME, old, pad(old.score), -1);
  move(SCORE_SCHEME, snapshot, pad(snapshot.score), 1);
  return {
    categories,
    snapshot,
    expectedRev: old?.rev,
    score,
    cells: [...cells.values()].filter((c) => c.count !== 0 || c.revenue !== 0),
    membership,
    history,
  };
}

/** Lifecycle stages and the moves allowed between them (a PATCH of `stage` outside these is refused). */
export const STAGE_TRANSITIONS: Record<string, readonly string[]> = {
  potential: ["intention", "formal", "lost"],
  intention: ["potential", "formal", "lost"],
  formal: ["dormant", "lost"],
  dormant: ["formal", "intention", "lost"],
  lost: ["potential", "intention"],
};

/**
 * True when a customer in stage `formal` (or `intention`) has had no order or interaction for longer than the
 * smallest dormancy threshold that its categories set (schemes' `dormancyDays`).
 */
export function dueForDormancy(item: Record<string, unknown>, schemes: readonly Scheme[], now: number): boolean {
  if (item.stage !== "formal" && item.stage !== "intention") return false;
  const cats = (item.categories ?? {}) as Record<string, string>;
  const limits = schemes.flatMap((s) => {
    const d = s.active ? s.dormancyDays?.[cats[s.id] ?? ""] : undefined;
    return d === undefined ? [] : [d];
  });
  if (!limits.length) return false;
  const last = readPath(item, "stats.lastActivityAt");
  const since = typeof last === "string" ? Date.parse(last) : Date.parse(String(item.createdAt));
  return now - since > Math.min(...limits) * 86_400_000;
}
