// Sales reports against DynamoDB Local: rollup cells written with each order change equal a recomputation from the
// orders, per group, for top customers, and within a scoped viewer's data scope.
import { describe, expect, it } from "vitest";
import type { Caller } from "../../shared/auth/claims.ts";
import { formatFen, parseFen } from "../../shared/domain/money.ts";
import { linearForecast, salesReport, topCustomers } from "../../shared/domain/orders/reports.ts";
import { actOnOrder, listOrders } from "../../shared/domain/orders/service.ts";
import { aCaller } from "../support/builders.ts";
import { newCustomer, newOrder, retrying } from "../support/orders.ts";

const fen = (s: unknown) => parseFen(String(s))!;

describe("sales reports from write-time rollups", () => {
  it("equal a recomputation from the orders, and a scoped viewer sums only its cells", async () => {
    const admin = aCaller({ userId: "u-admin", dept: "d1" });
    const salesA: Caller = { ...admin, userId: "u-a", roles: ["sales"], dept: "d1" };
    const salesB: Caller = { ...admin, userId: "u-b", roles: ["sales"], dept: "d2" };
    const specs = [
      { by: salesA, f: { industry: "制造", level: "A", region: "330106" } },
      { by: salesA, f: { industry: "零售", level: "B", region: "310115" } },
      { by: salesB, f: { industry: "制造", level: "B", region: "330106" } },
      { by: salesB, f: { industry: "物流" } },
    ];
    const customers = await Promise.all(specs.map((s) => newCustomer(s.by, s.f)));
    const work = customers.flatMap((c, ci) =>
      [0, 1, 2].map(async (k) => {
        const by = specs[ci]!.by;
        const o = await newOrder(by, c.id, [`${ci + 1}${k}.25`, "3.30"]);
        await retrying(() => actOnOrder(by, o.id, "submit", {}, undefined));
        if (k === 2 && ci === 1) return; // stays submitted: never booked
        await retrying(() => actOnOrder(by, o.id, "approve", {}, undefined));
        if (k === 1 && ci === 3) return retrying(() => actOnOrder(by, o.id, "cancel", {}, undefined));
        await retrying(() => actOnOrder(by, o.id, "ship", {}, undefined));
        if (k === 0) {
          await retrying(() => actOnOrder(by, o.id, "return", { lines: [{ sku: "S1", quantity: 1 }] }, undefined));
        }
      }),
    );
    await Promise.all(work);

    const orders = (await listOrders(admin, { limit: 200 })).items;
    const booked = orders.filter((o) => !["draft", "submitted", "cancelled", "rejected"].includes(o.status!));
    const net = (o: (typeof orders)[number]) => fen(o.amount) - fen(o.returnedAmount);
    const custOf = new Map(customers.map((c, i) => [c.id, { c, spec: specs[i]! }]));
    const expectedBy = (key: (o: (typeof orders)[number]) => string, only = booked) => {
      const m = new Map<string, { revenue: number; orders: number; customers: Set<string> }>();
      for (const o of only) {
        const g = m.get(key(o)) ?? { revenue: 0, orders: 0, customers: new Set<string>() };
        g.revenue += net(o);
        g.orders += 1;
        g.customers.add(o.customerId!);
        m.set(key(o), g);
      }
      return [...m.entries()]
        .map(([group, g]) => ({
          group,
          revenue: formatFen(g.revenue),
          orderCount: g.orders,
          customerCount: g.customers.size,
        }))
        .sort((a, b) => (a.group < b.group ? -1 : 1));
    };
    const actual = (rows: Array<Record<string, unknown>>) =>
      rows
        .map((r) => ({ group: r.group, revenue: r.revenue, orderCount: r.orderCount, customerCount: r.customerCount }))
        .sort((a, b) => (String(a.group) < String(b.group) ? -1 : 1));

    const industry = await salesReport(admin, { groupBy: "industry" });
    expect(actual(industry.rows)).toEqual(expectedBy((o) => custOf.get(o.customerId!)!.c.industry ?? "-"));
    const region = await salesReport(admin, { groupBy: "region" });
    expect(actual(region.rows)).toEqual(expectedBy((o) => custOf.get(o.customerId!)!.c.region?.slice(0, 2) ?? "-"));
    const owner = await salesReport(admin, { groupBy: "owner" });
    expect(actual(owner.rows)).toEqual(expectedBy((o) => o.ownerId!));
    const month = await salesReport(admin, { groupBy: "month" });
    const total = booked.reduce((s, o) => s + net(o), 0);
    expect(month.total.revenue).toBe(formatFen(total));
    expect(month.total.orderCount).toBe(booked.length);
    expect(month.forecast.estimate).toBe(true);

    const mine = await salesReport(salesA, { groupBy: "industry" });
    expect(actual(mine.rows)).toEqual(
      expectedBy(
        (o) => custOf.get(o.customerId!)!.c.industry ?? "-",
        booked.filter((o) => o.ownerId === "u-a"),
      ),
    );

    const top = await topCustomers(admin, { limit: 2 });
    const perCustomer = expectedBy((o) => o.customerId!).sort((a, b) => fen(b.revenue) - fen(a.revenue));
    expect(top.items.map((i) => [i.customerId, i.revenue])).toEqual(
      perCustomer.slice(0, 2).map((g) => [g.group, g.revenue]),
    );
    const topB = await topCustomers(salesB, { limit: 10 });
    expect(topB.items.every((i) => customers.slice(2).some((c) => c.id === i.customerId))).toBe(true);
  });

  it("forecasts by a least-squares line, never below zero", () => {
    expect(linearForecast([100, 200, 300, 400, 500, 600])).toBe(700);
    expect(linearForecast([600, 500, 400, 300, 200, 100])).toBe(0);
    expect(linearForecast([50, 50, 50])).toBe(50);
    expect(linearForecast([])).toBe(0);
  });
});
