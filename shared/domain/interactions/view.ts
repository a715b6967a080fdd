// How interactions and the stats they keep look to API callers; no I/O, so the customer service can use it freely.
import type { Interaction } from "./schemas.ts";
import { interactionKeys } from "./keys.ts";
import { averageScore } from "./stats.ts";

/** How many interactions the 360 view shows (the latest, newest first). */
export const LATEST_IN_360 = 20;

/** The API view of a stored interaction (keys and rollup dimensions left out). */
export function toInteraction(item: Record<string, unknown>): Interaction {
  const { PK: _p, SK: _s, entity: _e, dims: _d, ...rest } = item;
  return rest as Interaction;
}

/** The latest `n` interactions of a customer's item collection (read in sort key order), newest first. */
export function latestInteractions(items: Record<string, unknown>[], n = LATEST_IN_360): Interaction[] {
  return items
    .filter((i) => i.entity === "interaction" && String(i.SK).startsWith(interactionKeys.prefix()))
    .sort((a, b) => (String(a.SK) < String(b.SK) ? 1 : -1))
    .slice(0, n)
    .map(toInteraction);
}

/** The profile's stats with the average survey score (two decimals) derived from the stored count and sum. */
export function presentInteractionStats(stats: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!stats || stats.surveyCount === undefined) return stats ?? {};
  return { ...stats, averageSurveyScore: averageScore(Number(stats.surveyScoreSum ?? 0), Number(stats.surveyCount)) };
}
