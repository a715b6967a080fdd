// Satisfaction report: average survey score, survey count and complaints per month, region, industry, level or owner,
// summed from rollup cells kept at write time (shared/domain/interactions), one Query per month, within the viewer's
// data scope. Never a scan of interactions.
// adapter --> (use case) --> domain & repositories
import * as z from "zod";
import type { Caller } from "../../auth/claims.ts";
import { ValidationError } from "../../http/errors.ts";
import { queryRollups, type RollupCell, type RollupScope } from "../interactions/repository.ts";
import { monthOf } from "../interactions/service.ts";
import { averageScore } from "../interactions/stats.ts";
import { resolveViewer, type Viewer } from "../org/viewer.ts";
import { getSettings } from "../settings/settings.ts";
import { regionName } from "../validation/index.ts";

export const SATISFACTION_GROUPS = ["month", "region", "industry", "level", "owner"] as const;
export type SatisfactionGroup = (typeof SATISFACTION_GROUPS)[number];

/** The longest period one report covers (one Query per month). */
export const MAX_MONTHS = 60;
/** Months queried at once. */
const PARALLEL = 6;

/** A month, `YYYY-MM`; a date `YYYY-MM-DD` is taken as its month (the rollups are monthly). */
const MonthSchema = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$/, "a month YYYY-MM (or a date YYYY-MM-DD)")
  .transform((s) => s.slice(0, 7));

export const SatisfactionQuerySchema = z
  .strictObject({
    groupBy: z.enum(SATISFACTION_GROUPS).default("month"),
    from: MonthSchema.optional(),
    to: MonthSchema.optional(),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { path: ["from"], message: "from must not be after to" });
export type SatisfactionQuery = z.output<typeof SatisfactionQuerySchema>;

const GroupSchema = z.object({
  key: z.string().nullable(),
  regionName: z.string().optional(),
  interactionCount: z.number().int(),
  surveyCount: z.number().int(),
  averageSurveyScore: z.number().nullable(),
  openComplaints: z.number().int(),
  resolvedComplaints: z.number().int(),
});
export const SatisfactionReportSchema = z.object({
  groupBy: z.enum(SATISFACTION_GROUPS),
  from: z.string(),
  to: z.string(),
  timeZone: z.string(),
  items: z.array(GroupSchema),
  totals: GroupSchema.omit({ key: true, regionName: true }),
});
export type SatisfactionReport = z.infer<typeof SatisfactionReportSchema>;

/** `YYYY-MM` moved by `n` months. */
export function addMonths(month: string, n: number): string {
  const [y, m] = month.split("-").map(Number) as [number, number];
  const i = y * 12 + (m - 1) + n;
  return `${String(Math.floor(i / 12)).padStart(4, "0")}-${String((i % 12) + 1).padStart(2, "0")}`;
}

/** Every month from `from` to `to`, inclusive. */
export function monthRange(from: string, to: string): string[] {
  const out: string[] = [];
  for (let m = from; m <= to; m = addMonths(m, 1)) out.push(m);
  return out;
}

/** The rollup cells a viewer's data scope covers: by department path prefix, or by owner. */
export function rollupScope(v: Viewer): RollupScope {
  switch (v.scope) {
    case "all":
      return {};
    case "own":
      return { ownerId: v.userId };
    case "dept":
      return { prefix: `${v.deptPath!}#` };
    case "dept_tree":
      return { prefix: v.deptPath! };
  }
}

const keyOf = (c: RollupCell, g: SatisfactionGroup) => (g === "owner" ? c.ownerId : c[g]);

interface Sums {
  interactionCount: number;
  surveyCount: number;
  surveyScoreSum: number;
  openComplaints: number;
  resolvedComplaints: number;
}
const empty = (): Sums => ({
  interactionCount: 0,
  surveyCount: 0,
  surveyScoreSum: 0,
  openComplaints: 0,
  resolvedComplaints: 0,
});
const add = (s: Sums, c: Sums) => {
  for (const k of Object.keys(s) as (keyof Sums)[]) s[k] += Number(c[k] ?? 0);
};
const shape = ({ surveyScoreSum, ...s }: Sums) => ({
  interactionCount: s.interactionCount,
  surveyCount: s.surveyCount,
  averageSurveyScore: averageScore(surveyScoreSum, s.surveyCount),
  openComplaints: s.openComplaints,
  resolvedComplaints: s.resolvedComplaints,
});

/** Sums rollup cells per group (pure: the report and its tests share it). */
export function summarise(cells: RollupCell[], groupBy: SatisfactionGroup) {
  const groups = new Map<string, Sums>();
  const totals = empty();
  for (const c of cells) {
    const key = keyOf(c, groupBy) ?? "";
    const g = groups.get(key) ?? empty();
    add(g, c);
    add(totals, c);
    groups.set(key, g);
  }
  const items = [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, s]) => {
      const name = groupBy === "region" && key ? regionName(key) : undefined;
      return { key: key || null, ...(name ? { regionName: name } : {}), ...shape(s) };
    });
  return { items, totals: shape(totals) };
}

/**
 * The report over [from, to] (months in the tenant's time zone; default the last 12 months). Each interaction counts
 * under the customer's department, owner, region, industry and level as they were when it was recorded, and under
 * the month of its `at`; a complaint counts as open or resolved by its state now.
 */
export async function satisfactionReport(caller: Caller, q: SatisfactionQuery): Promise<SatisfactionReport> {
  const [v, settings] = await Promise.all([resolveViewer(caller), getSettings(caller.tenant)]);
  const to = q.to ?? monthOf(new Date().toISOString(), settings.timeZone);
  const from = q.from ?? addMonths(to, -11);
  if (from > to) throw new ValidationError("query string is invalid", [{ path: "from", message: "after to" }]);
  const months = monthRange(from, to);
  if (months.length > MAX_MONTHS) {
    throw new ValidationError("query string is invalid", [
      { path: "from", message: `a report covers at most ${MAX_MONTHS} months` },
    ]);
  }
  const scope = rollupScope(v);
  const cells: RollupCell[] = [];
  for (let i = 0; i < months.length; i += PARALLEL) {
    const batch = await Promise.all(months.slice(i, i + PARALLEL).map((m) => queryRollups(caller.tenant, m, scope)));
    cells.push(...batch.flat());
  }
  return { groupBy: q.groupBy, from, to, timeZone: settings.timeZone, ...summarise(cells, q.groupBy) };
}
