// Orders against DynamoDB Local: customer stats stay exact under concurrent actions on one customer's orders.
import { describe, expect, it } from "vitest";
import type { Caller } from "../../shared/auth/claims.ts";
import { getCustomerItem } from "../../shared/domain/customers/repository.ts";
import { parseFen } from "../../shared/domain/money.ts";
import { actOnOrder, addPayment, listOrders } from "../../shared/domain/orders/service.ts";
import { aCaller } from "../support/builders.ts";
import { newCustomer, newOrder, retrying } from "../support/orders.ts";

/** Every order of a customer (all pages). */
async function allOrders(caller: Caller, customerId: string) {
  const out: Awaited<ReturnType<typeof listOrders>>["items"] = [];
  let cursor: string | undefined;
  do {
    const page = await listOrders(caller, { customerId, limit: 50, ...(cursor ? { cursor } : {}) });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

const fen = (s: unknown) => parseFen(String(s))!;

describe("customer stats under concurrency", () => {
  it("parallel approvals, payments, returns and cancels leave the stats equal to a recomputation from the orders", async () => {
    const caller = aCaller();
    const c = await newCustomer(caller);
    const orders = await Promise.all(
      Array.from({ length: 16 }, (_, i) => newOrder(caller, c.id, [`${i + 1}.01`, "0.33", "1999.99"])),
    );
    await Promise.all(orders.map((o) => retrying(() => actOnOrder(caller, o.id, "submit", {}, undefined))));
    await Promise.all(orders.map((o) => retrying(() => actOnOrder(caller, o.id, "approve", {}, undefined))));
    const [toShip, toCancel] = [orders.slice(0, 12), orders.slice(12)];
    await Promise.all([
      ...toShip.map((o) => retrying(() => actOnOrder(caller, o.id, "ship", {}, undefined))),
      ...toCancel.map((o) => retrying(() => actOnOrder(caller, o.id, "cancel", {}, undefined))),
    ]);
    await Promise.all([
      ...toShip
        .slice(0, 6)
        .map((o) =>
          retrying(() => actOnOrder(caller, o.id, "return", { lines: [{ sku: "S1", quantity: 1 }] }, undefined)),
        ),
      ...toShip.slice(6, 9).map((o) => retrying(() => actOnOrder(caller, o.id, "return", {}, undefined))),
      ...toShip.slice(0, 6).map((o) => retrying(() => addPayment(caller, o.id, { amount: 1001 }))),
      ...toShip.slice(9).map((o) => retrying(() => addPayment(caller, o.id, { amount: 50 }))),
    ]);

    const all = await allOrders(caller, c.id);
    expect(all).toHaveLength(16);
    const booked = all.filter((o) => o.status !== "cancelled");
    const expected = {
      orderCount: booked.length,
      approvals: 16,
      totalAmount: booked.reduce((s, o) => s + fen(o.amount), 0),
      returnedAmount: booked.reduce((s, o) => s + fen(o.returnedAmount), 0),
      paidAmount: booked.reduce((s, o) => s + fen(o.paidAmount), 0),
      receivable: booked.reduce((s, o) => s + fen(o.balance), 0),
    };
    expect(expected.returnedAmount).toBeGreaterThan(0);
    const stats = (await getCustomerItem(caller.tenant, c.id))!.stats as Record<string, unknown>;
    expect(stats).toMatchObject(expected);
    // First/last order dates are those of the first/last approval to commit, within a transaction's latency of the
    // earliest/latest approvedAt when approvals race (see README).
    const approvedAt = all.map((o) => o.approvedAt as string).sort();
    expect(approvedAt).toContain(stats.firstOrderAt);
    expect(approvedAt).toContain(stats.lastOrderAt);
    expect(Date.parse(stats.firstOrderAt as string) - Date.parse(approvedAt[0]!)).toBeLessThan(5000);
  });

  it("a credit limit holds against concurrent approvals by a sales user", async () => {
    const admin = aCaller();
    const sales: Caller = { ...admin, userId: "u-sales", roles: ["sales"] };
    const c = await newCustomer(sales, { customFields: { creditLimit: "100.00" } });
    const orders = await Promise.all(Array.from({ length: 6 }, () => newOrder(sales, c.id, ["30.00"])));
    await Promise.all(orders.map((o) => retrying(() => actOnOrder(sales, o.id, "submit", {}, undefined))));
    const results = await Promise.allSettled(
      orders.map((o) => retrying(() => actOnOrder(sales, o.id, "approve", {}, undefined))),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(3);
    const stats = (await getCustomerItem(sales.tenant, c.id))!.stats as Record<string, unknown>;
    expect(stats.receivable).toBe(9000);
  });
});
