import { describe, expect, it } from "vitest";
import { ORDER_ACTIONS, ORDER_STATUSES, nextStatus } from "../../../shared/domain/orders/status.ts";
import { balanceOf, overdueOf, paymentStatusOf, presentStats } from "../../../shared/domain/orders/present.ts";

describe("order status machine", () => {
  it("allows exactly the documented transitions", () => {
    const allowed: string[] = [];
    for (const from of ORDER_STATUSES) {
      for (const action of ORDER_ACTIONS) {
        const to = nextStatus(from, action);
        if (to) allowed.push(`${from} -${action}-> ${to}`);
      }
    }
    expect(allowed.sort()).toEqual(
      [
        "draft -submit-> submitted",
        "draft -cancel-> cancelled",
        "submitted -approve-> approved",
        "submitted -reject-> rejected",
        "submitted -cancel-> cancelled",
        "approved -ship-> shipped",
        "approved -cancel-> cancelled",
        "shipped -return-> returned",
        "partially_returned -return-> returned",
      ].sort(),
    );
  });

  it("a partial return lands on partially_returned; terminal statuses allow nothing", () => {
    expect(nextStatus("shipped", "return", false)).toBe("partially_returned");
    for (const s of ["rejected", "cancelled", "returned"] as const) {
      for (const a of ORDER_ACTIONS) expect(nextStatus(s, a)).toBeUndefined();
    }
  });
});

describe("order balances", () => {
  const base = { amount: 10000, returnedAmount: 0, paidAmount: 0 };
  it("payment status follows the balance", () => {
    expect(paymentStatusOf(base)).toBe("unpaid");
    expect(paymentStatusOf({ ...base, paidAmount: 1 })).toBe("partial");
    expect(paymentStatusOf({ ...base, paidAmount: 6000, returnedAmount: 4000 })).toBe("paid");
    expect(balanceOf({ ...base, paidAmount: 2500, returnedAmount: 500 })).toBe(7000);
  });

  it("overdue is computed at read time from the due date and the balance", () => {
    const o = { ...base, status: "approved", dueAt: "2026-01-10T00:00:00.000Z" } as never;
    expect(overdueOf(o, Date.parse("2026-01-09T00:00:00Z")).overdue).toBe(false);
    expect(overdueOf(o, Date.parse("2026-01-13T01:00:00Z"))).toEqual({ overdue: true, overdueDays: 3 });
    const paid = { ...base, paidAmount: 10000, status: "approved", dueAt: "2026-01-10T00:00:00.000Z" } as never;
    expect(overdueOf(paid, Date.parse("2026-02-01T00:00:00Z")).overdue).toBe(false);
  });

  it("stats show money as strings and predict the next order from the mean gap", () => {
    const s = presentStats({
      contactCount: 1,
      orderCount: 3,
      approvals: 3,
      totalAmount: 123450,
      returnedAmount: 50,
      receivable: 100,
      firstOrderAt: "2026-01-01T00:00:00.000Z",
      lastOrderAt: "2026-01-21T00:00:00.000Z",
    });
    expect(s).toMatchObject({
      totalAmount: "1234.50",
      netAmount: "1234.00",
      receivable: "1.00",
      averageDaysBetweenOrders: 10,
      predictedNextOrderAt: "2026-01-31T00:00:00.000Z",
    });
    expect(presentStats({ contactCount: 2 })).toEqual({ contactCount: 2 });
  });
});
