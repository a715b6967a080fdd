// Order use cases: create (numbered per tenant), read, change while draft, list within the viewer's data scope, the
// status machine's actions and payments. Each write carries, in one transaction, the order, the customer's stats
// (UpdateItem ADD/SET on `stats.*` only), the sales rollups and the audit entry.
// adapter --> (use case) --> domain & repositories
import { reclassify } from "../classification/service.ts";
import type { Caller } from "../../auth/claims.ts";
import { decodeCursor, encodeCursor } from "../../db/cursor.ts";
import { isId, newId } from "../../db/ids.ts";
import type { Filter, ShardCursor } from "../../db/sharded.ts";
import type { GuardedItem } from "../../db/transact.ts";
import { ConflictError, NotFoundError, UnprocessableError } from "../../http/errors.ts";
import { auditPut } from "../audit/audit.ts";
import { type IdempotencyContext, once } from "../idempotency/idempotency.ts";
import type { CustomerItem } from "../customers/repository.ts";
import { visibleCustomer } from "../customers/service.ts";
import { addFen, formatFen, mulFen, parseFen } from "../money.ts";
import { requireWrite, resolveViewer, type Viewer } from "../org/viewer.ts";
import { counterKey, renderCode } from "../settings/code-pattern.ts";
import { getSettings, nextSequence } from "../settings/settings.ts";
import {
  balanceOf,
  type HistoryEntry,
  type OrderRecord,
  paymentStatusOf,
  presentOrder,
  type StoredLine,
} from "./present.ts";
import {
  customerOfOrder,
  getOrderItem,
  insertOrder,
  listOfCustomer,
  listOfOwner,
  listSharded,
  OrderNumberTakenError,
  type OrderPage,
  type StatsChange,
  statsUpdate,
  writeOrder,
} from "./repository.ts";
import { salesRollups } from "./rollups.ts";
import type { ActionBody, OrderCreate, OrderListQuery, OrderPatch, PaymentInput } from "./schemas.ts";
import { allowedFrom, nextStatus, type OrderAction, PAYABLE } from "./status.ts";

/** Order numbers: SO + year + a 6-digit sequence per tenant and year, in the tenant's time zone. */
export const ORDER_CODE_PATTERN = "SO{yyyy}{seq:6}";
/** Payment terms when the customer's customFields.paymentTermsDays is absent or not a whole number 0..365. */
export const DEFAULT_PAYMENT_TERMS_DAYS = 30;
const DAY_MS = 86_400_000;

const notFound = (id: string) => new NotFoundError(`order ${id} not found`);

/** The viewer, the order and its customer, or 404 when any is missing or outside the viewer's data scope. */
async function visibleOrder(caller: Caller, id: string) {
  if (!isId(id)) throw notFound(id);
  const customerId = await customerOfOrder(caller.tenant, id);
  if (!customerId) throw notFound(id);
  const [seen, order] = await Promise.all([
    visibleCustomer(caller, customerId).catch((err: unknown) => {
      if (err instanceof NotFoundError) throw notFound(id);
      throw err;
    }),
    getOrderItem(caller.tenant, customerId, id),
  ]);
  if (!order) throw notFound(id);
  return { v: seen.v, customer: seen.customer, order };
}

/** Stored lines and the order's amount in fen (422 when it leaves the safe range). */
export function toLines(lines: OrderCreate["lines"]): { lines: StoredLine[]; amount: number } {
  const stored = lines.map((l) => ({ ...l, returnedQuantity: 0 }));
  try {
    const amount = addFen(...stored.map((l) => mulFen(l.unitPrice, l.quantity)));
    return { lines: stored, amount };
  } catch {
    throw new UnprocessableError("the order's amount is too large", [{ path: "lines", message: "amount too large" }]);
  }
}

/** The audit entry of an order write (create when there is no `before`). */
export const orderAudit = (
  caller: Caller,
  o: OrderRecord,
  before: OrderRecord | null,
  requestId: string | undefined,
): GuardedItem =>
  auditPut(caller.tenant, {
    at: o.updatedAt,
    actor: caller.userId,
    action: before ? "update" : "create",
    entityType: "order",
    entityId: o.id,
    parentId: o.customerId,
    before: before as unknown as Record<string, unknown> | null,
    after: o as unknown as Record<string, unknown>,
    requestId,
  });

/**
 * Creates a draft order for a customer the caller may see (else 404), numbered from the tenant's counter. Replays on a
 * repeated Idempotency-Key: a retried create neither makes a second order nor takes a second number.
 */
export async function createOrderOnce(
  caller: Caller,
  input: OrderCreate,
  idem: IdempotencyContext | undefined,
  requestId?: string,
) {
  if (!isId(input.customerId)) throw new NotFoundError(`customer ${input.customerId} not found`);
  const { v, customer } = await visibleCustomer(caller, input.customerId);
  requireWrite(v);
  return once(idem, async (record) => {
    const { lines, amount } = toLines(input.lines);
    const settings = await getSettings(caller.tenant);
    const now = new Date();
    const at = now.toISOString();
    const number = async () =>
      renderCode(
        ORDER_CODE_PATTERN,
        now,
        settings.timeZone,
        await nextSequence(caller.tenant, "ORDERCODE", counterKey(ORDER_CODE_PATTERN, now, settings.timeZone)),
      );
    const order: OrderRecord = {
      id: newId(now.getTime()),
      code: await number(),
      customerId: customer.id,
      status: "draft",
      lines,
      ...(input.note ? { note: input.note } : {}),
      amount,
      returnedAmount: 0,
      paidAmount: 0,
      payments: [],
      paymentStatus: "unpaid",
      history: [{ action: "create", from: null, to: "draft", at, by: caller.userId }],
      ...copies(customer),
      version: 1,
      createdAt: at,
      updatedAt: at,
      createdBy: caller.userId,
      updatedBy: caller.userId,
    };
    // Numbers are unique per tenant (a guard item): an imported order may already hold the counter's next number.
    for (let attempt = 1; ; attempt++) {
      const result = { status: 201, body: presentOrder(order) };
      const extras = [record(result), orderAudit(caller, order, null, requestId)].filter((x) => x !== undefined);
      try {
        await insertOrder(caller.tenant, order, extras);
        return result;
      } catch (err) {
        if (!(err instanceof OrderNumberTakenError) || attempt >= 5) throw err;
        order.code = await number();
      }
    }
  });
}

type PresentedOrder = ReturnType<typeof presentOrder>;

/** {@link createOrderOnce} without an Idempotency-Key: the order as created. */
export async function createOrder(caller: Caller, input: OrderCreate, requestId?: string): Promise<PresentedOrder> {
  return (await createOrderOnce(caller, input, undefined, requestId)).body as PresentedOrder;
}

/** Who may see the order in lists follows its customer; the copies are refreshed on every write of the order. */
export function copies(c: CustomerItem): Pick<OrderRecord, "ownerId" | "deptPath"> {
  return { ownerId: c.ownerId, ...(c.deptPath ? { deptPath: c.deptPath } : {}) };
}

export async function getOrder(caller: Caller, id: string) {
  const { order } = await visibleOrder(caller, id);
  return presentOrder(order);
}

function checkVersion(o: OrderRecord, expected: number | undefined) {
  if (expected !== undefined && expected !== o.version) {
    throw new ConflictError(`order ${o.id} is at version ${o.version}, not ${expected}; read it again`);
  }
}

/** Changes lines or note while the order is a draft. */
export async function patchOrder(caller: Caller, id: string, patch: OrderPatch, expected: number, requestId?: string) {
  const { v, customer, order } = await visibleOrder(caller, id);
  requireWrite(v);
  checkVersion(order, expected);
  if (order.status !== "draft") throw new ConflictError(`order ${id} is ${order.status}; only a draft can be changed`);
  const at = new Date().toISOString();
  const after: OrderRecord = { ...order, ...copies(customer), updatedAt: at, updatedBy: caller.userId };
  if (patch.lines) Object.assign(after, toLines(patch.lines));
  if (patch.note === null) delete after.note;
  else if (patch.note !== undefined) after.note = patch.note;
  after.version = order.version + 1;
  await writeOrder(caller.tenant, after, order.version, [orderAudit(caller, after, order, requestId)]);
  return presentOrder(after);
}

/** A whole number of days from the customer's customFields, or the default. */
export function termsOf(c: CustomerItem): number {
  const raw = c.customFields?.paymentTermsDays;
  const n = typeof raw === "string" ? Number(raw) : raw;
  return typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 365 ? n : DEFAULT_PAYMENT_TERMS_DAYS;
}

/** The customer's credit limit in fen from customFields.creditLimit (a decimal string or number), if set. */
export function creditLimitOf(c: CustomerItem): number | undefined {
  const raw = c.customFields?.creditLimit;
  if (typeof raw !== "string" && typeof raw !== "number") return undefined;
  return parseFen(String(raw));
}

export const mayOverrideCredit = (v: Viewer) => v.roles.includes("admin") || v.roles.includes("manager");

/** The lines and amount a return takes back: the listed quantities, or everything not yet returned. */
function returnOf(o: OrderRecord, body: ActionBody): { lines: StoredLine[]; amount: number } {
  const lines = o.lines.map((l) => ({ ...l }));
  if (!body.lines) {
    let amount = 0;
    for (const l of lines) {
      amount += mulFen(l.unitPrice, l.quantity - l.returnedQuantity);
      l.returnedQuantity = l.quantity;
    }
    return { lines, amount };
  }
  let amount = 0;
  const seen = new Set<string>();
  body.lines.forEach((r, i) => {
    const line = lines.find((l) => l.sku === r.sku);
    const path = `lines.${i}`;
    if (!line) throw new UnprocessableError("a returned line is not on the order", [{ path, message: "unknown sku" }]);
    if (seen.has(r.sku)) throw new UnprocessableError("each sku appears once", [{ path, message: "repeated sku" }]);
    seen.add(r.sku);
    if (line.returnedQuantity + r.quantity > line.quantity) {
      throw new UnprocessableError("more returned than shipped", [
        { path: `${path}.quantity`, message: `at most ${line.quantity - line.returnedQuantity} left to return` },
      ]);
    }
    line.returnedQuantity += r.quantity;
    amount = addFen(amount, mulFen(line.unitPrice, r.quantity));
  });
  return { lines, amount };
}

/**
 * Moves the order through the status machine (409 when the action is not allowed from its status). Booking:
 * approve books the amount as revenue and receivable; cancel after approval reverses it (only while nothing is paid);
 * a return reverses the returned lines' amount. Customer stats and sales rollups move in the same transaction.
 */
export async function actOnOrder(
  caller: Caller,
  id: string,
  action: OrderAction,
  body: ActionBody,
  expected: number | undefined,
  requestId?: string,
) {
  const { v, customer, order } = await visibleOrder(caller, id);
  requireWrite(v);
  checkVersion(order, expected ?? body.version);
  if (action !== "return" && body.lines) {
    throw new UnprocessableError("only a return takes lines", [{ path: "lines", message: "only for return" }]);
  }
  let returned: { lines: StoredLine[]; amount: number } | undefined;
  if (action === "return" && nextStatus(order.status, action)) returned = returnOf(order, body);
  const fully = returned ? returned.lines.every((l) => l.returnedQuantity === l.quantity) : true;
  const to = nextStatus(order.status, action, fully);
  if (!to) {
    throw new ConflictError(
      `cannot ${action} an order that is ${order.status} (allowed from: ${allowedFrom(action).join(", ")})`,
    );
  }
  const now = new Date();
  const at = now.toISOString();
  const entry: HistoryEntry = { action, from: order.status, to, at, by: caller.userId };
  if (body.reason) entry.reason = body.reason;
  const after: OrderRecord = {
    ...order,
    ...copies(customer),
    status: to,
    version: order.version + 1,
    updatedAt: at,
    updatedBy: caller.userId,
  };
  let stats: StatsChange | undefined;
  let revenueDelta = 0;
  if (action === "approve") {
    const limit = creditLimitOf(customer);
    const receivable = Number(customer.stats?.receivable ?? 0);
    if (limit !== undefined && receivable + order.amount > limit) {
      if (!mayOverrideCredit(v)) {
        throw new UnprocessableError(
          `credit limit exceeded: receivable ${formatFen(receivable)} + order ${formatFen(order.amount)} > limit ${formatFen(limit)}; a manager or admin may approve it`,
          [{ path: "creditLimit", message: "credit limit exceeded" }],
        );
      }
      entry.reason = [body.reason, `credit limit ${formatFen(limit)} overridden`].filter(Boolean).join("; ");
    }
    const terms = termsOf(customer);
    after.approvedAt = at;
    after.paymentTermsDays = terms;
    after.dueAt = new Date(now.getTime() + terms * DAY_MS).toISOString();
    revenueDelta = order.amount;
    stats = {
      add: { orderCount: 1, approvals: 1, totalAmount: order.amount, receivable: order.amount },
      set: { lastOrderAt: at },
      setIfAbsent: { firstOrderAt: at },
    };
    if (limit !== undefined && !mayOverrideCredit(v)) {
      // The same check as a condition, so concurrent approvals cannot both slip under the limit.
      stats.receivableAtMost = limit - order.amount;
      stats.onRefused = () =>
        new UnprocessableError("credit limit exceeded by orders approved meanwhile", [
          { path: "creditLimit", message: "credit limit exceeded" },
        ]);
    }
  } else if (action === "cancel" && order.status === "approved") {
    if (order.paidAmount > 0) throw new ConflictError(`order ${id} has payments; it cannot be cancelled`);
    revenueDelta = -order.amount;
    stats = { add: { orderCount: -1, totalAmount: -order.amount, receivable: -order.amount } };
  } else if (action === "return") {
    after.lines = returned!.lines;
    after.returnedAmount = order.returnedAmount + returned!.amount;
    revenueDelta = -returned!.amount;
    stats = { add: { returnedAmount: returned!.amount, receivable: -returned!.amount } };
  }
  after.paymentStatus = paymentStatusOf(after);
  after.history = [...order.history, entry];
  const extras: GuardedItem[] = [orderAudit(caller, after, order, requestId)];
  if (stats) extras.push(statsUpdate(caller.tenant, customer.id, stats));
  if (revenueDelta) extras.push(...salesRollups(caller.tenant, after, customer, revenueDelta, action === "approve"));
  await writeOrder(caller.tenant, after, order.version, extras);
  if (stats) await reclassify(caller.tenant, customer.id);
  return presentOrder(after);
}

/**
 * Records a payment against an approved or shipped order; at most its balance. Replays on a repeated
 * Idempotency-Key: a retried payment is recorded once.
 */
export async function addPaymentOnce(
  caller: Caller,
  id: string,
  input: PaymentInput,
  idem: IdempotencyContext | undefined,
  requestId?: string,
) {
  const { v, customer, order } = await visibleOrder(caller, id);
  requireWrite(v);
  return once(idem, async (record) => {
    if (!PAYABLE.includes(order.status)) {
      throw new ConflictError(`order ${id} is ${order.status}; payments are taken on approved or shipped orders`);
    }
    const balance = balanceOf(order);
    if (input.amount > balance) {
      throw new UnprocessableError(`payment exceeds the order's balance of ${formatFen(balance)}`, [
        { path: "amount", message: `at most ${formatFen(balance)}` },
      ]);
    }
    const at = new Date().toISOString();
    const payment = {
      id: newId(),
      amount: input.amount,
      at: input.at ? new Date(input.at).toISOString() : at,
      ...(input.method ? { method: input.method } : {}),
      by: caller.userId,
    };
    const after: OrderRecord = {
      ...order,
      ...copies(customer),
      payments: [...order.payments, payment],
      paidAmount: order.paidAmount + input.amount,
      version: order.version + 1,
      updatedAt: at,
      updatedBy: caller.userId,
    };
    after.paymentStatus = paymentStatusOf(after);
    const result = { status: 201, body: presentOrder(after) };
    const extras = [
      record(result),
      orderAudit(caller, after, order, requestId),
      statsUpdate(caller.tenant, customer.id, { add: { paidAmount: input.amount, receivable: -input.amount } }),
    ].filter((x) => x !== undefined);
    await writeOrder(caller.tenant, after, order.version, extras);
    await reclassify(caller.tenant, customer.id);
    return result;
  });
}

/** {@link addPaymentOnce} without an Idempotency-Key: the order with the payment. */
export async function addPayment(
  caller: Caller,
  id: string,
  input: PaymentInput,
  requestId?: string,
): Promise<PresentedOrder> {
  return (await addPaymentOnce(caller, id, input, undefined, requestId)).body as PresentedOrder;
}

/** The DynamoDB filter of an order list's (or an orders export's) status and creation-time range. */
export function orderFilterOf(q: Pick<OrderListQuery, "status" | "from" | "to">): Filter | undefined {
  const parts: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  if (q.status) {
    names["#fst"] = "status";
    values[":fst"] = q.status;
    parts.push("#fst = :fst");
  }
  if (q.from) {
    names["#fca"] = "createdAt";
    values[":ffrom"] = new Date(q.from).toISOString();
    parts.push("#fca >= :ffrom");
  }
  if (q.to) {
    names["#fca"] = "createdAt";
    values[":fto"] = new Date(q.to).toISOString();
    parts.push("#fca < :fto");
  }
  return parts.length ? { expression: parts.join(" AND "), names, values } : undefined;
}

/**
 * Orders the viewer may see, newest first: one customer's (its collection), else an index Query of the viewer's
 * scope (owner index for `own`, department-path index for `dept`/`dept_tree`, the tenant's list for `all`).
 */
export async function listOrders(caller: Caller, q: OrderListQuery) {
  const v = await resolveViewer(caller);
  const { cursor, limit, ...shape } = q;
  const scope = JSON.stringify(["orders", shape, v.scope, v.scope === "own" ? v.userId : v.deptPath]);
  const state = decodeCursor<unknown>(caller.tenant, scope, cursor);
  const filter = orderFilterOf(q);
  let page: OrderPage;
  if (q.customerId) {
    if (!isId(q.customerId)) throw new NotFoundError(`customer ${q.customerId} not found`);
    await visibleCustomer(caller, q.customerId);
    page = await listOfCustomer(caller.tenant, q.customerId, filter, limit, state as never);
  } else if (v.scope === "own") {
    page = await listOfOwner(caller.tenant, v.userId, filter, limit, state as never);
  } else if (v.scope === "dept" || v.scope === "dept_tree") {
    const dept = { path: v.deptPath!, tree: v.scope === "dept_tree" };
    page = await listSharded(caller.tenant, dept, filter, limit, state as ShardCursor | undefined);
  } else {
    page = await listSharded(caller.tenant, undefined, filter, limit, state as ShardCursor | undefined);
  }
  return {
    items: page.items.map((o) => presentOrder(o)),
    nextCursor: page.state ? encodeCursor(caller.tenant, scope, page.state) : null,
  };
}
