// What one interaction write adds to its customer's stats and to its satisfaction rollup cell (pure, unit-tested).
import type { Interaction } from "./schemas.ts";

/** Counter changes of one write; the same numbers go to the profile's `stats` and to the rollup cell. */
export interface Tally {
  interactions: number;
  surveys: number;
  scoreSum: number;
  openComplaints: number;
  resolvedComplaints: number;
}

export const ZERO: Tally = { interactions: 0, surveys: 0, scoreSum: 0, openComplaints: 0, resolvedComplaints: 0 };

/** What recording an interaction adds. */
export function createDelta(i: Pick<Interaction, "kind" | "score">): Tally {
  return {
    ...ZERO,
    interactions: 1,
    surveys: i.kind === "survey" ? 1 : 0,
    scoreSum: i.kind === "survey" ? (i.score ?? 0) : 0,
    openComplaints: i.kind === "complaint" ? 1 : 0,
  };
}

/** What moving a complaint from one state to another adds (resolve: open -1, resolved +1; reopen: the reverse). */
export function stateDelta(from: string | undefined, to: string | undefined): Tally {
  if (from === to || !from || !to) return { ...ZERO };
  const sign = to === "resolved" ? 1 : -1;
  return { ...ZERO, openComplaints: -sign, resolvedComplaints: sign };
}

export const isZero = (t: Tally) => Object.values(t).every((n) => n === 0);

/** Sums tallies (recomputations in tests, report groups). */
export function addTally(a: Tally, b: Tally): Tally {
  return {
    interactions: a.interactions + b.interactions,
    surveys: a.surveys + b.surveys,
    scoreSum: a.scoreSum + b.scoreSum,
    openComplaints: a.openComplaints + b.openComplaints,
    resolvedComplaints: a.resolvedComplaints + b.resolvedComplaints,
  };
}

/** The tally stored interactions add up to (what the counters must equal). */
export function recompute(items: Pick<Interaction, "kind" | "score" | "state">[]): Tally {
  return items.reduce(
    (t, i) =>
      addTally(t, {
        ...createDelta(i),
        openComplaints: i.kind === "complaint" && i.state !== "resolved" ? 1 : 0,
        resolvedComplaints: i.kind === "complaint" && i.state === "resolved" ? 1 : 0,
      }),
    { ...ZERO },
  );
}

/** An average score with two decimals, or null without surveys. */
export function averageScore(sum: number, count: number): number | null {
  return count > 0 ? Math.round((sum / count) * 100) / 100 : null;
}

/** The lastInteractionAt move: SET when `at` is later than the stored value, else leave it (it only moves forward). */
export function advancesLast(stored: string | undefined, at: string): boolean {
  return stored === undefined || stored < at;
}
