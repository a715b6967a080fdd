// The API view of orders and of the order statistics kept on the customer: fen to decimal strings, read-time facts.
import { formatFen } from "../money.ts";
import type { OrderStatus } from "./status.ts";
import { BOOKED } from "./status.ts";

export interface StoredLine {
  sku: string;
  name: string;
  quantity: number;
  /** fen */
  unitPrice: number;
  returnedQuantity: number;
}

export interface Payment {
  id: string;
  /** fen */
  amount: number;
  at: string;
  method?: string;
  by: string;
}

export interface HistoryEntry {
  action: string;
  from: OrderStatus | null;
  to: OrderStatus;
  at: string;
  by: string;
  reason?: string;
}

/** An order as stored (amounts in fen), without keys. */
export interface OrderRecord {
  id: string;
  code: string;
  customerId: string;
  status: OrderStatus;
  lines: StoredLine[];
  note?: string;
  amount: number;
  returnedAmount: number;
  paidAmount: number;
  payments: Payment[];
  paymentStatus: PaymentStatus;
  approvedAt?: string;
  dueAt?: string;
  paymentTermsDays?: number;
  history: HistoryEntry[];
  ownerId: string;
  deptPath?: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  createdBy: string;
  updatedBy: string;
}

export type PaymentStatus = "unpaid" | "partial" | "paid";

const DAY_MS = 86_400_000;

/** What the customer still owes on the order (fen; negative when it paid more than what it kept). */
export const balanceOf = (o: Pick<OrderRecord, "amount" | "returnedAmount" | "paidAmount">) =>
  o.amount - o.returnedAmount - o.paidAmount;

export function paymentStatusOf(o: Pick<OrderRecord, "amount" | "returnedAmount" | "paidAmount">): PaymentStatus {
  if (o.paidAmount > 0 && balanceOf(o) <= 0) return "paid";
  return o.paidAmount > 0 ? "partial" : "unpaid";
}

/** Overdue is a read-time fact: a booked order past its due date with a balance left. */
export function overdueOf(o: OrderRecord, now: number): { overdue: boolean; overdueDays: number } {
  if (!BOOKED.includes(o.status) || !o.dueAt || balanceOf(o) <= 0) return { overdue: false, overdueDays: 0 };
  const late = now - Date.parse(o.dueAt);
  return late > 0 ? { overdue: true, overdueDays: Math.floor(late / DAY_MS) } : { overdue: false, overdueDays: 0 };
}

const ORDER_FIELDS = [
  "id",
  "code",
  "customerId",
  "status",
  "note",
  "approvedAt",
  "dueAt",
  "paymentTermsDays",
  "history",
  "ownerId",
  "version",
  "createdAt",
  "updatedAt",
  "createdBy",
  "updatedBy",
] as const;

/** The order as the API shows it. */
export function presentOrder(item: OrderRecord | Record<string, unknown>, now = Date.now()) {
  const o = item as unknown as OrderRecord;
  const out: Record<string, unknown> = {};
  for (const k of ORDER_FIELDS) if (o[k] !== undefined) out[k] = o[k];
  return {
    ...(out as Partial<Pick<OrderRecord, (typeof ORDER_FIELDS)[number]>>),
    id: o.id,
    status: o.status,
    version: o.version,
    lines: o.lines.map((l) => ({
      sku: l.sku,
      name: l.name,
      quantity: l.quantity,
      unitPrice: formatFen(l.unitPrice),
      amount: formatFen(l.unitPrice * l.quantity),
      returnedQuantity: l.returnedQuantity,
    })),
    amount: formatFen(o.amount),
    returnedAmount: formatFen(o.returnedAmount),
    paidAmount: formatFen(o.paidAmount),
    balance: formatFen(BOOKED.includes(o.status) ? balanceOf(o) : 0),
    paymentStatus: o.paymentStatus,
    payments: o.payments.map((p) => ({ ...p, amount: formatFen(p.amount) })),
    ...overdueOf(o, now),
  };
}

/** Money counters of `stats` (fen inside). */
export const STATS_MONEY = ["totalAmount", "returnedAmount", "paidAmount", "receivable"] as const;

/**
 * The customer's `stats` as the API shows them: money as decimal strings, the average gap between orders and the
 * predicted next order (read-time estimates from first/last order and the number of approvals: the gaps between
 * consecutive orders sum to last - first, so their mean needs no per-order state).
 */
export function presentStats(stats: Record<string, unknown> | undefined): Record<string, unknown> {
  const s = { ...(stats ?? {}) };
  if (s.orderCount === undefined && s.approvals === undefined) return s;
  for (const k of STATS_MONEY) s[k] = formatFen(Number(s[k] ?? 0));
  s.netAmount = formatFen(Number(stats?.totalAmount ?? 0) - Number(stats?.returnedAmount ?? 0));
  const approvals = Number(s.approvals ?? 0);
  if (approvals >= 2 && typeof s.firstOrderAt === "string" && typeof s.lastOrderAt === "string") {
    const gapMs = (Date.parse(s.lastOrderAt) - Date.parse(s.firstOrderAt)) / (approvals - 1);
    s.averageDaysBetweenOrders = Math.round((gapMs / DAY_MS) * 10) / 10;
    s.predictedNextOrderAt = new Date(Date.parse(s.lastOrderAt) + gapMs).toISOString();
  }
  return s;
}

/** How many orders the 360 view shows. */
export const ORDERS_IN_360 = 10;

/** The latest orders of a customer's collection items, newest first (ids sort by creation time). */
export function latestOrders(items: Record<string, unknown>[], n = ORDERS_IN_360, now = Date.now()) {
  return items
    .filter((i) => i.entity === "order")
    .sort((a, b) => (String(a.id) < String(b.id) ? 1 : -1))
    .slice(0, n)
    .map((o) => presentOrder(o, now));
}

/** The customer's open balance and what of it is overdue, computed at read time from all its orders. */
export function receivablesOf(items: Record<string, unknown>[], now = Date.now()) {
  let balance = 0;
  let overdueAmount = 0;
  let overdueOrders = 0;
  let maxOverdueDays = 0;
  for (const i of items) {
    if (i.entity !== "order") continue;
    const o = i as unknown as OrderRecord;
    if (!BOOKED.includes(o.status)) continue;
    balance += balanceOf(o);
    const d = overdueOf(o, now);
    if (d.overdue) {
      overdueAmount += balanceOf(o);
      overdueOrders++;
      maxOverdueDays = Math.max(maxOverdueDays, d.overdueDays);
    }
  }
  return { balance: formatFen(balance), overdueAmount: formatFen(overdueAmount), overdueOrders, maxOverdueDays };
}
