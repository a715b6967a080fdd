// The satisfaction report against DynamoDB Local: rollups kept at write time equal a recomputation from the stored
// interactions, for every grouping, for an admin and for scoped (own, dept) viewers.
import { beforeAll, describe, expect, it } from "vitest";
import type { Caller } from "../../shared/auth/claims.ts";
import { CustomerCreateSchema, type Customer } from "../../shared/domain/customers/schemas.ts";
import { createCustomer, patchCustomer } from "../../shared/domain/customers/service.ts";
import { InteractionCreateSchema, type Interaction } from "../../shared/domain/interactions/schemas.ts";
import { createInteraction, monthOf, patchInteraction } from "../../shared/domain/interactions/service.ts";
import type { RollupCell } from "../../shared/domain/interactions/repository.ts";
import {
  addMonths,
  SATISFACTION_GROUPS,
  satisfactionReport,
  SatisfactionQuerySchema,
  summarise,
} from "../../shared/domain/reports/satisfaction.ts";
import { aCaller, aTenant } from "../support/builders.ts";

const tenant = aTenant("sat");
const admin: Caller = aCaller({ tenant, userId: "boss", dept: "hq" });
/** A manager of another department creating customers it owns (their department is /east/). */
const east: Caller = aCaller({ tenant, userId: "m-east", dept: "east" });
const sales: Caller = aCaller({ tenant, userId: "s1", role: "sales", dept: "hq" });
const eastViewer: Caller = aCaller({ tenant, userId: "v-east", role: "viewer", dept: "east" });

/** What each recorded interaction should count under: the customer as it was then. */
interface Seen {
  i: Interaction;
  cell: Omit<
    RollupCell,
    "interactionCount" | "surveyCount" | "surveyScoreSum" | "openComplaints" | "resolvedComplaints"
  >;
}
const seen: Seen[] = [];
const TZ = "Asia/Shanghai";
const thisMonth = monthOf(new Date().toISOString(), TZ);

const daysAgo = (d: number, h = 0) => new Date(Date.now() - d * 86400_000 - h * 3600_000).toISOString();

async function customer(by: Caller, o: Record<string, unknown>) {
  return (await createCustomer(by, CustomerCreateSchema.parse({ name: "测试客户", ...o }), undefined)).body as Customer;
}

async function record(by: Caller, c: Customer, body: Record<string, unknown>) {
  const i = (await createInteraction(by, c.id, InteractionCreateSchema.parse(body), undefined)).body as Interaction;
  seen.push({
    i,
    cell: {
      month: monthOf(i.at, TZ),
      deptPath: c.deptPath ?? "",
      ownerId: c.ownerId,
      region: c.region ?? "",
      industry: c.industry ?? "",
      level: c.level ?? "",
    },
  });
  return i;
}

/** The cells the stored interactions should have produced, one per interaction (summarise sums them). */
function expectedCells(filter: (s: Seen) => boolean): RollupCell[] {
  return seen.filter(filter).map(({ i, cell }) => ({
    ...cell,
    interactionCount: 1,
    surveyCount: i.kind === "survey" ? 1 : 0,
    surveyScoreSum: i.kind === "survey" ? i.score! : 0,
    openComplaints: i.kind === "complaint" && i.state === "open" ? 1 : 0,
    resolvedComplaints: i.kind === "complaint" && i.state === "resolved" ? 1 : 0,
  }));
}

beforeAll(async () => {
  const a = await customer(admin, { region: "330106", industry: "制造", level: "A" });
  const b = await customer(admin, { region: "310115", industry: "零售", ownerId: "s1" });
  const e = await customer(east, { region: "330106", industry: "制造", level: "B" });
  const kinds = ["survey", "complaint", "call", "survey", "visit", "complaint"];
  const jobs: Promise<Interaction>[] = [];
  for (const [n, c] of [a, b, e, a, b, e, a, e].entries()) {
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[k]!;
      const body: Record<string, unknown> = { kind, at: daysAgo(((n * 7 + k * 13) % 80) + 1, k) };
      if (kind === "survey") body.score = ((n + k) % 5) + 1;
      jobs.push(record(c.ownerId === "m-east" ? east : admin, c, body));
    }
  }
  const made = await Promise.all(jobs);
  // Resolve some complaints (one of them reopened): the rollups follow the state.
  const complaints = made.filter((i) => i.kind === "complaint");
  const resolved = await Promise.all(
    complaints
      .filter((_, n) => n % 3 !== 0)
      .map((i) => patchInteraction(admin, i.customerId, i.id, { state: "resolved" }, 1)),
  );
  const reopened = await patchInteraction(admin, resolved[0]!.customerId, resolved[0]!.id, { state: "open" }, 2);
  for (const r of [...resolved, reopened]) seen.find((s) => s.i.id === r.id)!.i = r;
  // A customer's level changes: later interactions count under the new level, earlier ones stay where they were.
  const moved = await patchCustomer(admin, a.id, { level: "S" }, 1);
  await record(admin, moved as Customer & { id: string }, { kind: "survey", score: 5 });
}, 60_000);

const q = (o: Record<string, unknown>) => SatisfactionQuerySchema.parse({ from: addMonths(thisMonth, -4), ...o });

describe("satisfaction report", () => {
  it("equals a recomputation from the interactions for every grouping (admin: everything)", async () => {
    for (const groupBy of SATISFACTION_GROUPS) {
      const report = await satisfactionReport(admin, q({ groupBy }));
      const want = summarise(
        expectedCells(() => true),
        groupBy,
      );
      expect(report.items, groupBy).toEqual(want.items);
      expect(report.totals).toEqual(want.totals);
    }
    const byLevel = await satisfactionReport(admin, q({ groupBy: "level" }));
    expect(byLevel.items.map((i) => i.key)).toEqual([null, "A", "B", "S"]);
    expect(byLevel.items.find((i) => i.key === "S")).toMatchObject({ surveyCount: 1, averageSurveyScore: 5 });
    const byRegion = await satisfactionReport(admin, q({ groupBy: "region" }));
    expect(byRegion.items[0]).toMatchObject({ key: "310115", regionName: expect.stringContaining("浦东") });
  });

  it("sums only the cells in a scoped viewer's scope (sales: own; viewer: its department)", async () => {
    for (const groupBy of SATISFACTION_GROUPS) {
      const own = await satisfactionReport(sales, q({ groupBy }));
      expect(own.items, groupBy).toEqual(
        summarise(
          expectedCells((s) => s.cell.ownerId === "s1"),
          groupBy,
        ).items,
      );
      const dept = await satisfactionReport(eastViewer, q({ groupBy }));
      expect(dept.items, groupBy).toEqual(
        summarise(
          expectedCells((s) => s.cell.deptPath === "/east/"),
          groupBy,
        ).items,
      );
    }
    const own = await satisfactionReport(sales, q({ groupBy: "owner" }));
    expect(own.items.map((i) => i.key)).toEqual(["s1"]);
  });

  it("covers only the months asked for, and another tenant sees nothing", async () => {
    const last = await satisfactionReport(admin, q({ groupBy: "month", from: thisMonth, to: thisMonth }));
    expect(last.items).toEqual(
      summarise(
        expectedCells((s) => s.cell.month === thisMonth),
        "month",
      ).items,
    );
    expect((await satisfactionReport(aCaller(), q({}))).items).toEqual([]);
  });
});
