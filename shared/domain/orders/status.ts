// The order status machine: which action moves an order from which status to which, and what it does to the books.

export const ORDER_STATUSES = [
  "draft",
  "submitted",
  "approved",
  "rejected",
  "shipped",
  "partially_returned",
  "returned",
  "cancelled",
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const ORDER_ACTIONS = ["submit", "approve", "reject", "ship", "return", "cancel"] as const;
export type OrderAction = (typeof ORDER_ACTIONS)[number];

/** Allowed transitions; `return` lands on `returned` or `partially_returned` depending on what is left. */
const TRANSITIONS: Record<OrderAction, Partial<Record<OrderStatus, OrderStatus>>> = {
  submit: { draft: "submitted" },
  approve: { submitted: "approved" },
  reject: { submitted: "rejected" },
  ship: { approved: "shipped" },
  return: { shipped: "returned", partially_returned: "returned" },
  cancel: { draft: "cancelled", submitted: "cancelled", approved: "cancelled" },
};

/** The status an action leads to from `from`, or undefined when the action is not allowed there. */
export function nextStatus(from: OrderStatus, action: OrderAction, fullyReturned = true): OrderStatus | undefined {
  const to = TRANSITIONS[action][from];
  if (to === "returned" && !fullyReturned) return "partially_returned";
  return to;
}

/** Statuses whose amount is booked as revenue and receivable (approval books it; see README "Orders"). */
export const BOOKED: readonly OrderStatus[] = ["approved", "shipped", "partially_returned", "returned"];

/** Statuses that accept payments. */
export const PAYABLE: readonly OrderStatus[] = ["approved", "shipped", "partially_returned"];

/** The statuses an action may start from (for error messages). */
export function allowedFrom(action: OrderAction): OrderStatus[] {
  return Object.keys(TRANSITIONS[action]) as OrderStatus[];
}
