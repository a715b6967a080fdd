// One chunk of an order import. A file has one row per order line; the rows of one order number (consecutive: the
// runner never splits them across chunks) form one order. Each row is validated with the orders API's line schema and
// each order with its create schema; the customer is found by code or USCC and must be live and in the importer's data
// scope. Orders are matched by their number (unique per tenant through a guard item, the same one API-numbered orders
// take). A new order is written by the orders repository exactly as the API writes it (order, id pointer, number
// guard, audit entry; for a booked status also the customer's stats and the sales rollups, as the approve action moves
// them) in one transaction. Idempotent on replay as customer imports are: an inserted order's id is derived from
// (job, first row) and every order the import writes carries `importMark = <jobId>#<last row>#<outcome>`.
import * as z from "zod";
import { AppError, ConflictError } from "../../http/errors.ts";
import { customerKeys } from "../customers/keys.ts";
import { type CustomerItem, getCustomerItem } from "../customers/repository.ts";
import { moneySchema, mulFen } from "../money.ts";
import type { HistoryEntry, OrderRecord } from "../orders/present.ts";
import {
  getOrderItem,
  insertOrder,
  OrderNumberTakenError,
  ordersByNumber,
  type StatsChange,
  statsUpdate,
  writeOrder,
} from "../orders/repository.ts";
import { salesRollups } from "../orders/rollups.ts";
import { MAX_LINES, OrderCreateSchema, OrderLineSchema } from "../orders/schemas.ts";
import { copies, creditLimitOf, mayOverrideCredit, orderAudit, termsOf, toLines } from "../orders/service.ts";
import type { OrderAction, OrderStatus } from "../orders/status.ts";
import { canSee } from "../org/viewer.ts";
import { getSettings } from "../settings/settings.ts";
import { normalizeQuery, UsccSchema } from "../validation/index.ts";
import { type ChunkContext, derivedId, type RowOutcome, type RowResult, WRITE_CONCURRENCY } from "./customer-import.ts";
import { batchGet, guardOwners } from "./repository.ts";
import { pool } from "../../db/pool.ts";

/** Statuses an imported order may have; returns are recorded with the return action. */
export const IMPORT_ORDER_STATUSES = ["draft", "submitted", "approved", "shipped", "rejected", "cancelled"] as const;
type ImportStatus = (typeof IMPORT_ORDER_STATUSES)[number];

/** The actions that take a new draft to each status (the history an imported order gets, all at its date). */
const PATHS: Record<ImportStatus, OrderAction[]> = {
  draft: [],
  submitted: ["submit"],
  approved: ["submit", "approve"],
  shipped: ["submit", "approve", "ship"],
  rejected: ["submit", "reject"],
  cancelled: ["cancel"],
};
const STEP: Record<OrderAction, OrderStatus> = {
  submit: "submitted",
  approve: "approved",
  ship: "shipped",
  reject: "rejected",
  cancel: "cancelled",
  return: "returned",
};

const CURRENCIES = new Set(["cny", "rmb", "人民币", "元"]);

/** A row of an order file, checked field by field (the line with the orders API's own line schema). */
const OrderRowSchema = z.strictObject({
  orderNo: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .refine(
      (s) => ![...s].some((ch) => ch.charCodeAt(0) < 0x20 || ch === "\x7f"),
      "an order number has no control characters",
    ),
  customerCode: z.string().trim().min(1).max(64).optional(),
  uscc: UsccSchema.optional(),
  customerName: z.string().trim().max(200).optional(),
  orderDate: z.string().trim().max(40).optional(),
  status: z
    .enum(IMPORT_ORDER_STATUSES, {
      error: () =>
        `one of ${IMPORT_ORDER_STATUSES.join(", ")} (草稿, 已提交, 已审批, 已发货, 已驳回, 已取消); returns are recorded with the return action`,
    })
    .optional(),
  sku: OrderLineSchema.shape.sku.optional(),
  product: OrderLineSchema.shape.name,
  quantity: OrderLineSchema.shape.quantity,
  unitPrice: OrderLineSchema.shape.unitPrice,
  amount: moneySchema().optional(),
  currency: z
    .string()
    .trim()
    .refine((c) => CURRENCIES.has(c.toLowerCase()), "only CNY (人民币) is supported")
    .optional(),
  note: z.string().max(2000).optional(),
});
type ParsedRow = z.output<typeof OrderRowSchema>;

export interface OrderRow {
  line: number;
  cells: string[];
  /** The row's order number when it has a usable one (a bad row still fails its whole order). */
  orderNo?: string;
  order?: ParsedRow;
  /** The line as the orders API takes it (decimal strings), for the create schema's order-level checks. */
  rawLine?: { sku: string; name: string; quantity: number; unitPrice: string };
  error?: { column: string; message: string };
}

const issueOf = (issues: z.core.$ZodIssue[], raw: Record<string, unknown>) => {
  const issue = issues[0]!;
  const field = String(issue.path[0] ?? "");
  const message = issue.code === "invalid_type" && raw[field] === undefined ? "required" : issue.message;
  return { field, message };
};

/** Validates a mapped order row (the error's column is a field name; the runner shows it as the file's header). */
export function validateOrderRow(
  raw: Record<string, unknown>,
  columnOf: (field: string) => string,
): Omit<OrderRow, "line" | "cells"> {
  const no = typeof raw.orderNo === "string" ? raw.orderNo.trim() : "";
  const orderNo = no && no.length <= 64 ? no : undefined;
  const fail = (field: string, message: string) => ({ orderNo, error: { column: columnOf(field), message } });
  if (typeof raw.quantity === "string") return fail("quantity", "quantity is a whole number");
  const res = OrderRowSchema.safeParse(raw);
  if (!res.success) {
    const { field, message } = issueOf(res.error.issues, raw);
    return fail(field, message);
  }
  const r = res.data;
  const sku = r.sku ?? r.product;
  if (!r.sku && sku.length > 64) return fail("sku", "required when the product name is longer than 64 characters");
  if (r.amount !== undefined && r.amount !== mulFen(r.unitPrice, r.quantity)) {
    return fail("amount", "is not quantity × unit price");
  }
  return {
    orderNo: r.orderNo,
    order: r,
    rawLine: { sku, name: r.product, quantity: r.quantity, unitPrice: String(raw.unitPrice) },
  };
}

/** Calendar parts as they read in `timeZone` -> the instant (the offset found by formatting, twice around DST). */
function zoned(y: number, mo: number, d: number, h: number, mi: number, s: number, timeZone: string): number {
  const guess = Date.UTC(y, mo - 1, d, h, mi, s);
  const offset = (ms: number) => {
    const p = Object.fromEntries(
      new Intl.DateTimeFormat("en-US", {
        timeZone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      })
        .formatToParts(ms)
        .map((x) => [x.type, x.value]),
    );
    return Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!, +p.second!) - Math.floor(ms / 1000) * 1000;
  };
  const first = guess - offset(guess);
  return guess - offset(first);
}

const EXCEL_EPOCH = Date.UTC(1899, 11, 30);

/**
 * An order date cell -> ISO instant, or an error message. Accepts 2024-03-05, 2024/3/5, 2024.3.5, 2024年3月5日,
 * 20240305 (each optionally with HH:mm[:ss]), ISO 8601 with an offset, and Excel's date serial numbers. A date and time
 * without an offset is read in the tenant's time zone; a date alone is taken at 12:00 there, so its UTC date (and the
 * month the sales rollups file it under) is the file's.
 */
export function parseOrderDate(cell: string, timeZone: string, now = Date.now()): { at?: string; error?: string } {
  const c = cell.trim();
  let parts: number[] | undefined;
  let withTime = false;
  const m =
    /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(c) ??
    /^(\d{4})(\d{2})(\d{2})()()()$/.exec(c);
  let ms: number | undefined;
  if (m) {
    parts = m.slice(1).map((x) => (x ? Number(x) : NaN));
    withTime = !Number.isNaN(parts[3]!);
  } else if (/^\d{5}(\.\d+)?$/.test(c)) {
    const serial = new Date(EXCEL_EPOCH + Math.round(Number(c) * 86_400) * 1000);
    withTime = c.includes(".");
    parts = [
      serial.getUTCFullYear(),
      serial.getUTCMonth() + 1,
      serial.getUTCDate(),
      serial.getUTCHours(),
      serial.getUTCMinutes(),
      serial.getUTCSeconds(),
    ];
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})$/.test(c)) {
    ms = Date.parse(c);
  }
  if (parts) {
    const [y, mo, d, h, mi, s] = parts as [number, number, number, number, number, number];
    const time = withTime ? [h, mi, Number.isNaN(s) ? 0 : s] : [12, 0, 0];
    const check = new Date(Date.UTC(y, mo - 1, d, time[0], time[1], time[2]));
    const valid =
      check.getUTCFullYear() === y &&
      check.getUTCMonth() === mo - 1 &&
      check.getUTCDate() === d &&
      time[0]! < 24 &&
      time[1]! < 60 &&
      time[2]! < 60;
    if (valid) ms = zoned(y, mo, d, time[0]!, time[1]!, time[2]!, timeZone);
  }
  if (ms === undefined || Number.isNaN(ms)) {
    return { error: "not a date (e.g. 2024-03-05, 2024/3/5 14:30, 2024年3月5日)" };
  }
  if (ms < Date.UTC(1990, 0, 1)) return { error: "is before 1990" };
  if (ms > now + 86_400_000) return { error: "is in the future" };
  return { at: new Date(ms).toISOString() };
}

interface Outcome {
  outcome: RowOutcome;
  customerId?: string;
  /** The order's error: given to each of its rows (the row at fault keeps its own, see `rowErrors`). */
  error?: { column: string; message: string };
  rowErrors?: Map<number, { column: string; message: string }>;
}

/** Order-level fields: every row of an order that fills one must agree with the others. */
const ORDER_FIELDS = ["customerCode", "uscc", "customerName", "orderDate", "status", "currency", "note"] as const;

/**
 * Imports one chunk of order rows; one result per row, in row order (every row of an order shares its outcome). A row
 * the runner refused before validation (ragged, not valid text) still fails its order: its number is read from
 * `orderNoColumn` of its cells.
 */
export async function importOrderChunk(
  ctx: ChunkContext,
  rows: readonly OrderRow[],
  orderNoColumn = -1,
): Promise<RowResult[]> {
  const results = new Map<number, RowResult>();
  const groups = new Map<string, OrderRow[]>();
  for (const r of rows) {
    if (!r.orderNo && r.error && orderNoColumn >= 0) {
      const no = (r.cells[orderNoColumn] ?? "").trim();
      if (no && no.length <= 64) r.orderNo = no;
    }
    if (!r.orderNo) {
      results.set(r.line, { line: r.line, outcome: "failed", error: r.error });
      continue;
    }
    const key = r.orderNo.toUpperCase();
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  ctx.settings ??= await getSettings(ctx.tenant);
  const valid = [...groups.values()].flat().flatMap((r) => (r.order ? [r.order] : []));
  const owners = await guardOwners(
    ctx.tenant,
    valid.flatMap((o) => (o.customerCode ? [o.customerCode] : [])),
    valid.flatMap((o) => (o.uscc ? [o.uscc] : [])),
  );
  const ids = [...new Set([...owners.codes.values(), ...owners.usccs.values()])];
  const profiles = new Map(
    (await batchGet(ids.map((id) => ({ PK: customerKeys.pk(ctx.tenant, id), SK: customerKeys.profileSk() })))).map(
      (p) => [p.id as string, p as CustomerItem],
    ),
  );
  const existing = await ordersByNumber(ctx.tenant, groups.keys());

  await pool([...groups.values()], WRITE_CONCURRENCY, async (list) => {
    let out: Outcome;
    try {
      out = await applyOrder(ctx, list, owners, profiles, existing);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      const e = err.errors?.[0];
      out = { outcome: "failed", error: { column: e?.path ?? "", message: e?.message ?? err.message } };
    }
    for (const r of list) {
      const own = out.rowErrors?.get(r.line);
      results.set(r.line, {
        line: r.line,
        outcome: out.outcome,
        ...(out.customerId ? { customerId: out.customerId } : {}),
        ...(out.outcome === "failed" ? { error: own ?? out.error } : {}),
      });
    }
  });
  return rows.map((r) => results.get(r.line)!);
}

type Owners = { codes: Map<string, string>; usccs: Map<string, string> };

async function applyOrder(
  ctx: ChunkContext,
  list: OrderRow[],
  owners: Owners,
  profiles: Map<string, CustomerItem>,
  numbers: Map<string, { orderId: string; customerId: string }>,
): Promise<Outcome> {
  let existing = numbers;
  const no = list[0]!.orderNo!;
  const failed = (column: string, message: string): Outcome => ({ outcome: "failed", error: { column, message } });

  const bad = list.filter((r) => !r.order);
  if (bad.length) {
    return {
      ...failed("", `order ${no} has an invalid row (${bad.map((r) => r.line).join(", ")})`),
      rowErrors: new Map(bad.map((r) => [r.line, r.error!])),
    };
  }
  const head: Partial<ParsedRow> = {};
  for (const f of ORDER_FIELDS) {
    for (const r of list) {
      const v = r.order![f];
      if (v === undefined) continue;
      const same = (a: unknown, b: unknown) =>
        f === "customerCode" ? String(a).toUpperCase() === String(b).toUpperCase() : a === b;
      if (head[f] === undefined) (head as Record<string, unknown>)[f] = v;
      else if (!same(head[f], v)) return failed(f, `rows of order ${no} disagree on this column`);
    }
  }

  // The customer: by code or USCC, live and in the importer's data scope.
  if (!head.customerCode && !head.uscc) return failed("customerCode", "required (or 统一社会信用代码)");
  const byCode = head.customerCode ? owners.codes.get(head.customerCode.toUpperCase()) : undefined;
  const byUscc = head.uscc ? owners.usccs.get(head.uscc) : undefined;
  if (head.customerCode && head.uscc && byCode !== byUscc) {
    return failed("uscc", `names another customer than ${head.customerCode}`);
  }
  const customerId = byCode ?? byUscc;
  let customer = customerId ? profiles.get(customerId) : undefined;
  if (!customer || customer.deletedAt || !canSee(ctx.viewer, customer)) {
    return head.customerCode
      ? failed("customerCode", `no customer with code ${head.customerCode} (or not yours to see)`)
      : failed("uscc", `no customer with this code (or not yours to see)`);
  }
  if (head.customerName && normalizeQuery(head.customerName) !== normalizeQuery(customer.name)) {
    return failed("customerName", `customer ${customer.code} is named ${customer.name}`);
  }

  // The order as the API would take it: its create schema checks the lines (at most 200, each sku once).
  const parsed = OrderCreateSchema.safeParse({
    customerId: customer.id,
    lines: list.map((r) => r.rawLine!),
    ...(head.note ? { note: head.note } : {}),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const [top, i, field] = issue.path;
    if (top === "lines" && typeof i === "number") {
      const column = field === "name" ? "product" : String(field ?? "");
      return {
        ...failed(column, issue.message),
        rowErrors: new Map([[list[i]!.line, { column, message: issue.message }]]),
      };
    }
    return failed(top === "lines" ? "" : String(top ?? ""), issue.message);
  }
  const { lines, amount } = toLines(parsed.data.lines);
  let at = new Date().toISOString();
  if (head.orderDate) {
    const d = parseOrderDate(head.orderDate, ctx.settings!.timeZone);
    if (d.error) return failed("orderDate", d.error);
    at = d.at!;
  }
  const mark = (o: "inserted" | "updated") => `${ctx.jobId}#${list.at(-1)!.line}#${o}`;

  for (let attempt = 1; ; attempt++) {
    const found = existing.get(no.toUpperCase());
    if (found) {
      const order = (await getOrderItem(ctx.tenant, found.customerId, found.orderId)) as
        (OrderRecord & { importMark?: string }) | undefined;
      if (!order) return failed("orderNo", `order ${no} is being written by someone else; import the row again`);
      if (order.importMark === mark("inserted")) return { outcome: "inserted", customerId: order.customerId };
      if (order.importMark === mark("updated")) return { outcome: "updated", customerId: order.customerId };
      if (order.importMark?.startsWith(`${ctx.jobId}#`)) {
        const row = order.importMark.split("#")[1];
        return failed("orderNo", `the rows of order ${no} must be consecutive (some were imported up to row ${row})`);
      }
      if (order.customerId !== customer.id) return failed("orderNo", `order ${no} belongs to another customer`);
      if (ctx.mode === "insert") return { outcome: "skipped", customerId: order.customerId };
      if (head.status && head.status !== order.status) {
        return failed("status", `order ${no} is ${order.status}; its status changes only with the order actions`);
      }
      const same =
        JSON.stringify(order.lines.map((l) => [l.sku, l.name, l.quantity, l.unitPrice])) ===
          JSON.stringify(lines.map((l) => [l.sku, l.name, l.quantity, l.unitPrice])) &&
        (head.note === undefined || head.note === order.note);
      if (same) return { outcome: "skipped", customerId: order.customerId };
      if (order.status !== "draft") {
        return failed("orderNo", `order ${no} is ${order.status}; only a draft can be changed`);
      }
      if (ctx.dryRun) return { outcome: "updated", customerId: order.customerId };
      const now = new Date().toISOString();
      const after: OrderRecord & { importMark: string } = {
        ...order,
        ...copies(customer),
        lines,
        amount,
        ...(head.note !== undefined ? { note: head.note } : {}),
        version: order.version + 1,
        updatedAt: now,
        updatedBy: ctx.caller.userId,
        importMark: mark("updated"),
      };
      await writeOrder(ctx.tenant, after, order.version, [orderAudit(ctx.caller, after, order, ctx.jobId)]);
      return { outcome: "updated", customerId: order.customerId };
    }

    const status: ImportStatus = head.status ?? "draft";
    const booked = status === "approved" || status === "shipped";
    const limit = booked ? creditLimitOf(customer) : undefined;
    const override = mayOverrideCredit(ctx.viewer);
    const receivable = Number(customer.stats?.receivable ?? 0);
    if (limit !== undefined && receivable + amount > limit && !override) {
      return failed(
        "status",
        `credit limit of customer ${customer.code} exceeded (receivable + this order > limit); a manager or admin may import it ${status}`,
      );
    }
    if (ctx.dryRun) return { outcome: "inserted", customerId: customer.id };

    const id = derivedId(Date.parse(at), `${ctx.jobId}#${list[0]!.line}`);
    const now = new Date().toISOString();
    const history: HistoryEntry[] = [
      { action: "create", from: null, to: "draft", at, by: ctx.caller.userId, reason: `imported by job ${ctx.jobId}` },
    ];
    for (const action of PATHS[status]) {
      history.push({ action, from: history.at(-1)!.to, to: STEP[action], at, by: ctx.caller.userId });
    }
    const order: OrderRecord & { importMark: string } = {
      id,
      code: no,
      customerId: customer.id,
      status,
      lines,
      ...(head.note ? { note: head.note } : {}),
      amount,
      returnedAmount: 0,
      paidAmount: 0,
      payments: [],
      paymentStatus: "unpaid",
      history,
      ...copies(customer),
      version: 1,
      createdAt: at,
      updatedAt: now,
      createdBy: ctx.caller.userId,
      updatedBy: ctx.caller.userId,
      importMark: mark("inserted"),
    };
    const extras = [orderAudit(ctx.caller, order, null, ctx.jobId)];
    if (booked) {
      const terms = termsOf(customer);
      order.approvedAt = at;
      order.paymentTermsDays = terms;
      order.dueAt = new Date(Date.parse(at) + terms * 86_400_000).toISOString();
      extras.push(
        statsUpdate(ctx.tenant, customer.id, datedBooking(customer, amount, at, override ? undefined : limit)),
      );
      extras.push(...salesRollups(ctx.tenant, order, customer, amount, true));
    }
    try {
      await insertOrder(ctx.tenant, order, extras, { checkCustomer: !booked });
      return { outcome: "inserted", customerId: customer.id };
    } catch (err) {
      if (attempt >= 5) throw err;
      const written = err instanceof ConflictError && /with this id already exists/.test(err.message);
      if (err instanceof OrderNumberTakenError || written) {
        // Taken since the lookup (an API order, another import, or an earlier attempt of this chunk still in flight
        // when it was read): match it as an existing order.
        existing = await ordersByNumber(ctx.tenant, [no]);
        continue;
      }
      if (err instanceof StatsMovedError) {
        // The customer's stats moved since they were read: read them again (the credit check too) and retry.
        customer = await getCustomerItem(ctx.tenant, customer.id);
        if (!customer || customer.deletedAt)
          return failed("customerCode", `customer ${head.customerCode ?? ""} was deleted meanwhile`);
        continue;
      }
      throw err;
    }
  }
}

/** The customer's stats moved (or it was deleted) between its read and the booking's transaction. */
class StatsMovedError extends ConflictError {
  constructor() {
    super("the customer's order stats changed meanwhile; try again");
  }
}

/**
 * The approve action's stats change for an order booked at `at` (its date, not now): the same counters, and the
 * first/last order dates and the activity index moved only when `at` is earlier/later than what the customer holds.
 */
function datedBooking(c: CustomerItem, amount: number, at: string, limit: number | undefined): StatsChange {
  const stats = (c.stats ?? {}) as Record<string, unknown>;
  const last = stats.lastOrderAt as string | undefined;
  const first = stats.firstOrderAt as string | undefined;
  const activity = c.GSI3SK as string | undefined;
  const change: StatsChange = {
    add: { orderCount: 1, approvals: 1, totalAmount: amount, receivable: amount },
    onRefused: () => new StatsMovedError(),
  };
  if (!last || at > last) {
    change.setIfLater = { lastOrderAt: at };
    change.moveActivity = !activity || `${at}#${c.id}` > activity;
  }
  if (!first || at < first) change.setIfEarlier = { firstOrderAt: at };
  if (limit !== undefined) change.receivableAtMost = limit - amount;
  return change;
}

/** Rows of one order the runner holds back at most (an order over MAX_LINES fails whole up to this many rows). */
export const MAX_HELD_ROWS = 5 * MAX_LINES;

/**
 * How many rows at the end of a full batch the runner keeps for the next chunk: the rows of its last order, so an
 * order is never split across chunks (a chunk grows past CHUNK_ROWS instead). Beyond MAX_HELD_ROWS rows of one
 * order the batch is cut anyway.
 */
export function keptOrderRows(batch: readonly { cells: (string | undefined)[] }[], orderNoColumn: number): number {
  if (orderNoColumn < 0) return 0;
  const key = (i: number) => (batch[i]!.cells[orderNoColumn] ?? "").trim().toUpperCase();
  const last = key(batch.length - 1);
  if (!last) return 0;
  let n = 0;
  while (n < batch.length && key(batch.length - 1 - n) === last) n++;
  return n > MAX_HELD_ROWS ? 0 : n;
}
