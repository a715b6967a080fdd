// The condition language: what a rule may say (field, op, value checked together) and what it means for a customer.
import { describe, expect, it } from "vitest";
import {
  evaluate,
  fieldsOf,
  RuleConditionSchema,
  subtractDuration,
  type Condition,
} from "../../../shared/domain/conditions/condition.ts";

const NOW = Date.parse("2026-06-15T00:00:00Z");
const customer = {
  name: "上海浦东贸易",
  type: "enterprise",
  industry: "manufacturing",
  region: "310115",
  level: "A",
  tags: ["vip", "export"],
  customFields: { employees: 120, channel: "web" },
  categories: { size: "large" },
  stats: {
    orderCount: 7,
    totalAmount: 1_250_000, // fen: 12500.00
    returnedAmount: 50_000,
    lastOrderAt: "2026-05-20T00:00:00Z",
    lastInteractionAt: "2026-06-10T00:00:00Z",
  },
  createdAt: "2025-01-01T00:00:00Z",
};
const is = (c: Condition) => evaluate(RuleConditionSchema.parse(c), customer, NOW);

describe("condition evaluation", () => {
  it("compares strings, prefixes and lists", () => {
    expect(is({ field: "industry", op: "eq", value: "manufacturing" })).toBe(true);
    expect(is({ field: "industry", op: "ne", value: "manufacturing" })).toBe(false);
    expect(is({ field: "region", op: "prefix", value: "31" })).toBe(true);
    expect(is({ field: "region", op: "prefix", value: "33" })).toBe(false);
    expect(is({ field: "level", op: "in", value: ["B", "A"] })).toBe(true);
    expect(is({ field: "categories.size", op: "eq", value: "large" })).toBe(true);
  });

  it("reads money stats in fen against decimal strings", () => {
    expect(is({ field: "stats.totalAmount", op: "gte", value: "12500.00" })).toBe(true);
    expect(is({ field: "stats.totalAmount", op: "gt", value: "12500.00" })).toBe(false);
    expect(is({ field: "stats.netAmount", op: "eq", value: "12000" })).toBe(true);
  });

  it("treats a missing field as not matching, except ne and exists:false", () => {
    expect(is({ field: "stats.receivable", op: "gt", value: "0" })).toBe(false);
    expect(is({ field: "stats.receivable", op: "ne", value: "0" })).toBe(true);
    expect(is({ field: "postcode", op: "exists", value: false })).toBe(true);
    expect(is({ field: "stats.lastOrderAt", op: "exists", value: true })).toBe(true);
  });

  it("checks membership in tags", () => {
    expect(is({ field: "tags", op: "eq", value: "vip" })).toBe(true);
    expect(is({ field: "tags", op: "ne", value: "vip" })).toBe(false);
    expect(is({ field: "tags", op: "in", value: ["none", "export"] })).toBe(true);
  });

  it("answers within against the given now, and date comparisons", () => {
    expect(is({ field: "stats.lastOrderAt", op: "within", value: "P30D" })).toBe(true);
    expect(is({ field: "stats.lastOrderAt", op: "within", value: "P20D" })).toBe(false);
    expect(is({ field: "stats.lastActivityAt", op: "within", value: "P7D" })).toBe(true);
    expect(is({ field: "createdAt", op: "lt", value: "2025-06-01" })).toBe(true);
  });

  it("combines all, any and not", () => {
    const big = { field: "stats.totalAmount", op: "gte", value: "10000" } as const;
    const fresh = { field: "stats.lastOrderAt", op: "within", value: "P10D" } as const;
    expect(is({ all: [big, fresh] })).toBe(false);
    expect(is({ any: [big, fresh] })).toBe(true);
    expect(is({ not: fresh })).toBe(true);
    expect(fieldsOf({ all: [big, { not: fresh }] })).toEqual(["stats.totalAmount", "stats.lastOrderAt"]);
  });

  it("compares custom fields by their own type", () => {
    expect(is({ field: "customFields.employees", op: "gte", value: 100 })).toBe(true);
    expect(is({ field: "customFields.employees", op: "gte", value: "100" })).toBe(false);
    expect(is({ field: "customFields.channel", op: "eq", value: "web" })).toBe(true);
  });

  it("subtracts calendar months and years", () => {
    expect(new Date(subtractDuration(Date.parse("2026-03-31T00:00:00Z"), "P1Y")).toISOString()).toBe(
      "2025-03-31T00:00:00.000Z",
    );
    expect(new Date(subtractDuration(NOW, "P2W")).toISOString()).toBe("2026-06-01T00:00:00.000Z");
  });
});

describe("condition validation", () => {
  const problems = (c: unknown) => {
    const r = RuleConditionSchema.safeParse(c);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };

  it("names an unknown field, an unknown op and an op the field does not take", () => {
    expect(problems({ field: "salary", op: "eq", value: 1 })).toEqual(['field: unknown field "salary"']);
    expect(problems({ field: "level", op: "like", value: "A" })[0]).toMatch(/^op: unknown op "like"/);
    expect(problems({ field: "level", op: "gt", value: "A" })[0]).toMatch(/^op: op "gt" does not apply to level/);
  });

  it("names a value of the wrong type, with its place in the tree", () => {
    expect(problems({ all: [{ field: "stats.orderCount", op: "gt", value: "3" }] })).toEqual([
      "all.0.value: gt on this field takes a number",
    ]);
    expect(problems({ field: "stats.totalAmount", op: "gt", value: "1.234" })[0]).toMatch(/decimal string/);
    expect(problems({ field: "stats.lastOrderAt", op: "within", value: "90 days" })[0]).toMatch(/duration/);
    expect(problems({ field: "level", op: "in", value: [] })[0]).toMatch(/list of 1 to 100/);
    expect(problems({ field: "level", op: "exists", value: "yes" })[0]).toMatch(/true or false/);
  });

  it("refuses unknown keys and nesting deeper than six levels", () => {
    expect(problems({ field: "level", op: "eq", value: "A", extra: 1 }).length).toBeGreaterThan(0);
    let deep: unknown = { field: "level", op: "eq", value: "A" };
    for (let i = 0; i < 6; i++) deep = { not: deep };
    expect(problems(deep)).toEqual([": conditions nest at most 6 levels"]);
  });
});
