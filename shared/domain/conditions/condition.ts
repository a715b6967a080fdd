// The condition language of classification rules and reminder rules (API.md "Conditions"): its schema, which fields
// and operators exist and what values they take, and a pure evaluator over a stored customer item.
import * as z from "zod";
import { parseFen } from "../money.ts";

export const OPS = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "prefix", "exists", "within"] as const;
export type Op = (typeof OPS)[number];

export interface Leaf {
  field: string;
  op: Op;
  value?: unknown;
}
export type Condition = { all: Condition[] } | { any: Condition[] } | { not: Condition } | Leaf;

/** What a field holds, which decides the operators it takes and how values compare. */
export type FieldKind = "string" | "strings" | "number" | "money" | "date" | "any";

const STRING_FIELDS = [
  "name",
  "code",
  "type",
  "industry",
  "region",
  "level",
  "stage",
  "ownerId",
  "deptId",
  "address",
  "postcode",
] as const;
const NUMBER_STATS = [
  "orderCount",
  "approvals",
  "contactCount",
  "interactionCount",
  "surveyCount",
  "openComplaints",
  "averageSurveyScore",
  "averageDaysBetweenOrders",
  "overdueDays",
] as const;
const MONEY_STATS = [
  "totalAmount",
  "returnedAmount",
  "paidAmount",
  "receivable",
  "netAmount",
  "overdueAmount",
] as const;
const DATE_STATS = ["firstOrderAt", "lastOrderAt", "lastInteractionAt", "lastActivityAt"] as const;

const OPS_OF: Record<FieldKind, readonly Op[]> = {
  string: ["eq", "ne", "in", "prefix", "exists"],
  strings: ["eq", "ne", "in", "exists"],
  number: ["eq", "ne", "gt", "gte", "lt", "lte", "in", "exists"],
  money: ["eq", "ne", "gt", "gte", "lt", "lte", "exists"],
  date: ["gt", "gte", "lt", "lte", "exists", "within"],
  any: OPS,
};

const NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

/** The kind of a field path, or undefined for a path that names no customer field, category or stat. */
export function fieldKind(path: string): FieldKind | undefined {
  if ((STRING_FIELDS as readonly string[]).includes(path)) return "string";
  if (path === "tags") return "strings";
  if (path === "createdAt" || path === "updatedAt") return "date";
  if (path === "valueScore") return "number";
  const dot = path.indexOf(".");
  if (dot < 0) return undefined;
  const head = path.slice(0, dot);
  const rest = path.slice(dot + 1);
  if (head === "customFields" && NAME.test(rest)) return "any";
  if (head === "categories" && NAME.test(rest)) return "string";
  if (head === "stats") {
    if ((NUMBER_STATS as readonly string[]).includes(rest)) return "number";
    if ((MONEY_STATS as readonly string[]).includes(rest)) return "money";
    if ((DATE_STATS as readonly string[]).includes(rest)) return "date";
  }
  return undefined;
}

const DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** `now` minus an ISO-8601 duration (calendar years, months; weeks, days, hours... exact), in epoch ms. */
export function subtractDuration(now: number, duration: string): number {
  const m = DURATION.exec(duration);
  if (!m) throw new Error(`not an ISO-8601 duration: ${duration}`);
  const n = (s: string | undefined) => (s ? Number(s.slice(0, -1)) : 0);
  const d = new Date(now);
  d.setUTCFullYear(d.getUTCFullYear() - n(m[1]));
  d.setUTCMonth(d.getUTCMonth() - n(m[2]));
  const ms = (((n(m[3]) * 7 + n(m[4])) * 24 + n(m[6])) * 60 + n(m[7])) * 60_000 + n(m[8]) * 1000;
  return d.getTime() - ms;
}

/** Why `value` does not suit `op` on a field of `kind`, or undefined when it does. */
function valueProblem(kind: FieldKind, op: Op, value: unknown): string | undefined {
  if (op === "exists") return typeof value === "boolean" ? undefined : "exists takes true or false";
  if (op === "within") {
    return typeof value === "string" && DURATION.test(value) ? undefined : 'within takes an ISO-8601 duration ("P90D")';
  }
  const scalar = (v: unknown): string | undefined => {
    switch (kind) {
      case "string":
      case "strings":
        return typeof v === "string" && v.length <= 200 ? undefined : "a string of at most 200 characters";
      case "number":
        return typeof v === "number" && Number.isFinite(v) ? undefined : "a number";
      case "money":
        if (typeof v === "number" && Number.isSafeInteger(v)) return undefined;
        return typeof v === "string" && parseFen(v) !== undefined
          ? undefined
          : "a decimal string with at most 2 places (or whole fen as a number)";
      case "date":
        return typeof v === "string" && ISO_DATE.test(v) && !Number.isNaN(Date.parse(v))
          ? undefined
          : "an ISO-8601 date or time";
      case "any":
        return ["string", "number", "boolean"].includes(typeof v) ? undefined : "a string, number or boolean";
    }
  };
  if (op === "in") {
    if (!Array.isArray(value) || value.length < 1 || value.length > 100) return "in takes a list of 1 to 100 values";
    const bad = value.map(scalar).find((p) => p !== undefined);
    return bad && `each value of in must be ${bad}`;
  }
  if (op === "prefix" && typeof value !== "string") return "prefix takes a string";
  const p = scalar(value);
  return p && `${op} on this field takes ${p}`;
}

const LeafSchema = z
  .strictObject({ field: z.string().max(128), op: z.string(), value: z.unknown().optional() })
  .superRefine((c, ctx) => {
    const kind = fieldKind(c.field);
    if (!kind) {
      ctx.addIssue({ code: "custom", path: ["field"], message: `unknown field "${c.field}"` });
      return;
    }
    if (!(OPS as readonly string[]).includes(c.op)) {
      ctx.addIssue({ code: "custom", path: ["op"], message: `unknown op "${c.op}"; one of ${OPS.join(", ")}` });
      return;
    }
    if (!OPS_OF[kind].includes(c.op as Op)) {
      ctx.addIssue({
        code: "custom",
        path: ["op"],
        message: `op "${c.op}" does not apply to ${c.field}; it takes ${OPS_OF[kind].join(", ")}`,
      });
      return;
    }
    const problem = valueProblem(kind, c.op as Op, c.value);
    if (problem) ctx.addIssue({ code: "custom", path: ["value"], message: problem });
  });

/** Nesting and size bounds keep evaluation cheap and rules readable. */
const MAX_DEPTH = 6;
const MAX_CHILDREN = 50;

function depthOf(c: unknown, d = 1): number {
  if (!c || typeof c !== "object") return d;
  const o = c as Record<string, unknown>;
  if (Array.isArray(o.all)) return Math.max(d, ...o.all.map((x) => depthOf(x, d + 1)));
  if (Array.isArray(o.any)) return Math.max(d, ...o.any.map((x) => depthOf(x, d + 1)));
  if (o.not) return depthOf(o.not, d + 1);
  return d;
}

export const ConditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.strictObject({ all: z.array(ConditionSchema).min(1).max(MAX_CHILDREN) }),
    z.strictObject({ any: z.array(ConditionSchema).min(1).max(MAX_CHILDREN) }),
    z.strictObject({ not: ConditionSchema }),
    LeafSchema as unknown as z.ZodType<Leaf>,
  ]),
);

/** A condition as rules take it: valid leaves, at most MAX_DEPTH levels deep. */
export const RuleConditionSchema = ConditionSchema.refine((c) => depthOf(c) <= MAX_DEPTH, {
  message: `conditions nest at most ${MAX_DEPTH} levels`,
});

/** The value a path reads from a stored customer item (money stats in fen, as stored). */
export function readPath(item: Record<string, unknown>, path: string): unknown {
  let v: unknown = item;
  for (const p of path.split(".")) v = v && typeof v === "object" ? (v as Record<string, unknown>)[p] : undefined;
  if (v === undefined && path === "stats.netAmount") {
    const s = (item.stats ?? {}) as Record<string, unknown>;
    if (s.totalAmount !== undefined) return Number(s.totalAmount) - Number(s.returnedAmount ?? 0);
  }
  if (v === undefined && path === "stats.lastActivityAt") {
    const s = (item.stats ?? {}) as Record<string, unknown>;
    const dates = [s.lastOrderAt, s.lastInteractionAt].filter((d): d is string => typeof d === "string").sort();
    return dates.at(-1);
  }
  return v;
}

const toComparable = (kind: FieldKind, v: unknown): number | string | boolean | undefined => {
  if (v === undefined || v === null) return undefined;
  if (kind === "money") return typeof v === "string" ? parseFen(v) : Number(v);
  if (kind === "date") return typeof v === "string" ? Date.parse(v) : undefined;
  if (kind === "number") return typeof v === "number" ? v : Number.isFinite(Number(v)) ? Number(v) : undefined;
  return v as string | number | boolean;
};

/** Stored money stats are fen already; a condition's money value is a decimal string (or fen as an integer). */
const storedComparable = (kind: FieldKind, v: unknown) =>
  kind === "money" ? (v === undefined || v === null ? undefined : Number(v)) : toComparable(kind, v);

function compare(a: number | string | boolean, b: number | string | boolean, op: Op): boolean {
  switch (op) {
    case "eq":
      return a === b;
    case "ne":
      return a !== b;
    case "gt":
      return a > b;
    case "gte":
      return a >= b;
    case "lt":
      return a < b;
    case "lte":
      return a <= b;
    default:
      return false;
  }
}

function evalLeaf(c: Leaf, item: Record<string, unknown>, now: number): boolean {
  const kind = fieldKind(c.field) ?? "any";
  const raw = readPath(item, c.field);
  const present = raw !== undefined && raw !== null && !(Array.isArray(raw) && raw.length === 0);
  if (c.op === "exists") return present === c.value;
  if (!present) return c.op === "ne";
  if (kind === "strings") {
    const have = Array.isArray(raw) ? (raw as unknown[]) : [raw];
    if (c.op === "eq") return have.includes(c.value);
    if (c.op === "ne") return !have.includes(c.value);
    if (c.op === "in") return (c.value as unknown[]).some((x) => have.includes(x));
    return false;
  }
  const a = storedComparable(kind, raw);
  if (a === undefined) return c.op === "ne";
  if (c.op === "within") {
    const t = typeof raw === "string" ? Date.parse(raw) : NaN;
    return !Number.isNaN(t) && t >= subtractDuration(now, String(c.value)) && t <= now + 60_000;
  }
  if (c.op === "prefix") return typeof a === "string" && a.startsWith(String(c.value));
  if (c.op === "in") return (c.value as unknown[]).some((x) => toComparable(kind, x) === a);
  const b = toComparable(kind, c.value);
  if (b === undefined || typeof a !== typeof b) return c.op === "ne";
  return compare(a, b, c.op);
}

/** Whether a stored customer item satisfies the condition at time `now` (epoch ms; `within` reads it). */
export function evaluate(c: Condition, item: Record<string, unknown>, now: number = Date.now()): boolean {
  if ("all" in c) return c.all.every((x) => evaluate(x, item, now));
  if ("any" in c) return c.any.some((x) => evaluate(x, item, now));
  if ("not" in c) return !evaluate(c.not, item, now);
  return evalLeaf(c, item, now);
}

/** Every field path a condition reads (to know which writes can change its outcome). */
export function fieldsOf(c: Condition): string[] {
  if ("all" in c) return c.all.flatMap(fieldsOf);
  if ("any" in c) return c.any.flatMap(fieldsOf);
  if ("not" in c) return fieldsOf(c.not);
  return [c.field];
}
