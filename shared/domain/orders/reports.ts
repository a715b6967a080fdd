// Sales analysis read from the rollup cells orders maintain at write time (rollups.ts): revenue, orders, customers
// per group and period, growth against the previous period of equal length, a trend forecast, top customers.
// Every read is a Query of one month's cells, narrowed to the viewer's data scope; no order is read.
import * as z from "zod";
import type { Caller } from "../../auth/claims.ts";
import { ValidationError } from "../../http/errors.ts";
import { formatFen } from "../money.ts";
import { resolveViewer, type Viewer } from "../org/viewer.ts";
import { type Cell, GROUP_BYS, readCells, rollupKeys } from "./rollups.ts";

const Month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, "a month, yyyy-mm");
/** Longest period a report covers (its previous period and the forecast window are read too). */
export const MAX_MONTHS = 36;
/** Months of history the forecast's linear trend is fitted to. */
export const FORECAST_MONTHS = 6;

export const SalesQuerySchema = z.strictObject({
  groupBy: z.enum(GROUP_BYS).default("month"),
  from: Month.optional(),
  to: Month.optional(),
});
export const TopCustomersQuerySchema = z.strictObject({
  from: Month.optional(),
  to: Month.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(10),
});

/** Month arithmetic on "yyyy-mm". */
export function addMonths(month: string, n: number): string {
  const [y, m] = month.split("-").map(Number) as [number, number];
  const i = y * 12 + (m - 1) + n;
  return `${Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, "0")}`;
}
export function monthsBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let m = from; m <= to; m = addMonths(m, 1)) out.push(m);
  return out;
}

/** The period [from, to] in months: default the 12 months up to this one (UTC). */
function period(q: { from?: string | undefined; to?: string | undefined }): string[] {
  const to = q.to ?? new Date().toISOString().slice(0, 7);
  const from = q.from ?? addMonths(to, -11);
  if (from > to) throw new ValidationError("query string is invalid", [{ path: "from", message: "from is after to" }]);
  const months = monthsBetween(from, to);
  if (months.length > MAX_MONTHS) {
    throw new ValidationError("query string is invalid", [{ path: "from", message: `at most ${MAX_MONTHS} months` }]);
  }
  return months;
}

/** The viewer's scope as a cell filter: department prefix or owner. */
function scopeOf(v: Viewer): { prefix?: string; owner?: string } {
  if (v.scope === "own") return { owner: v.userId };
  if (v.scope === "dept") return { prefix: rollupKeys.scopePrefix(v.deptPath!, false) };
  if (v.scope === "dept_tree") return { prefix: rollupKeys.scopePrefix(v.deptPath!, true) };
  return {};
}

interface Sum {
  revenue: number;
  orders: number;
  customers: Set<string>;
  name?: string;
}

function sumBy(cells: Cell[], sums = new Map<string, Sum>()): Map<string, Sum> {
  for (const c of cells) {
    const s = sums.get(c.groupValue) ?? { revenue: 0, orders: 0, customers: new Set<string>() };
    s.revenue += c.revenue;
    s.orders += c.orders;
    for (const id of c.customers) s.customers.add(id);
    if (c.customerName) s.name = c.customerName;
    sums.set(c.groupValue, s);
  }
  return sums;
}

/**
 * Next month's revenue by least squares over the last months' revenue (x = 0..n-1, forecast at x = n), never below
 * zero, rounded to the fen. An estimate, labelled as such.
 */
export function linearForecast(series: number[]): number {
  const n = series.length;
  if (n === 0) return 0;
  const mx = (n - 1) / 2;
  const my = series.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  series.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  const slope = den ? num / den : 0;
  return Math.max(0, Math.round(my + slope * (n - mx)));
}

const growthOf = (cur: number, prev: number) => (prev > 0 ? Math.round(((cur - prev) / prev) * 1000) / 10 : null);

/** GET /v1/reports/sales */
export async function salesReport(caller: Caller, q: z.output<typeof SalesQuerySchema>) {
  const v = await resolveViewer(caller);
  const months = period(q);
  const to = months.at(-1)!;
  const previous = monthsBetween(addMonths(months[0]!, -months.length), addMonths(months[0]!, -1));
  const trend = monthsBetween(addMonths(to, 1 - FORECAST_MONTHS), to);
  const all = [...new Set([...previous, ...months, ...trend])];
  const scope = scopeOf(v);
  const byMonth = new Map(
    await Promise.all(all.map(async (m) => [m, await readCells(caller.tenant, q.groupBy, m, scope)] as const)),
  );
  const cur = sumBy(months.flatMap((m) => byMonth.get(m)!));
  const prev = sumBy(previous.flatMap((m) => byMonth.get(m)!));
  const monthly = trend.map((m) => sumBy(byMonth.get(m)!));
  // By month, each row is a month of the period; growth compares it with the month one period-length earlier and
  // the forecast is for the whole scope. By another group, the rows are the group's values over the whole period.
  const rows =
    q.groupBy === "month"
      ? months.map((m) => {
          const s = cur.get(m) ?? { revenue: 0, orders: 0, customers: new Set() };
          const p = prev.get(addMonths(m, -months.length))?.revenue ?? 0;
          return row(m, s, p);
        })
      : [...cur.entries()]
          .sort((a, b) => b[1].revenue - a[1].revenue)
          .map(([g, s]) => ({
            ...row(g, s, prev.get(g)?.revenue ?? 0),
            forecastNextMonth: formatFen(linearForecast(monthly.map((mm) => mm.get(g)?.revenue ?? 0))),
          }));
  const total = [...cur.values()].reduce((a, s) => a + s.revenue, 0);
  const prevTotal = [...prev.values()].reduce((a, s) => a + s.revenue, 0);
  const totalSeries = monthly.map((mm) => [...mm.values()].reduce((a, s) => a + s.revenue, 0));
  return {
    groupBy: q.groupBy,
    from: months[0],
    to,
    previousPeriod: { from: previous[0], to: previous.at(-1) },
    rows,
    total: {
      revenue: formatFen(total),
      orderCount: [...cur.values()].reduce((a, s) => a + s.orders, 0),
      customerCount: new Set([...cur.values()].flatMap((s) => [...s.customers])).size,
      previousRevenue: formatFen(prevTotal),
      growthPercent: growthOf(total, prevTotal),
    },
    forecast: {
      month: addMonths(to, 1),
      revenue: formatFen(linearForecast(totalSeries)),
      estimate: true,
      method: `least-squares linear trend over the ${FORECAST_MONTHS} months up to ${to}`,
    },
  };
}

function row(group: string, s: Sum, prevRevenue: number) {
  return {
    group,
    revenue: formatFen(s.revenue),
    orderCount: s.orders,
    customerCount: s.customers.size,
    previousRevenue: formatFen(prevRevenue),
    growthPercent: growthOf(s.revenue, prevRevenue),
  };
}

/** GET /v1/reports/top-customers */
export async function topCustomers(caller: Caller, q: z.output<typeof TopCustomersQuerySchema>) {
  const v = await resolveViewer(caller);
  const months = period(q);
  const scope = scopeOf(v);
  const cells = (await Promise.all(months.map((m) => readCells(caller.tenant, "customer", m, scope)))).flat();
  const sums = sumBy(cells);
  const items = [...sums.entries()]
    .sort((a, b) => b[1].revenue - a[1].revenue || (a[0] < b[0] ? -1 : 1))
    .slice(0, q.limit)
    .map(([id, s]) => ({ customerId: id, name: s.name ?? null, revenue: formatFen(s.revenue), orderCount: s.orders }));
  return { from: months[0], to: months.at(-1), items };
}
