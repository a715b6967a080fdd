// Unit tests for customer list filters: region prefixes, the conditions a query asks for, and their two renderings.
import { describe, expect, it } from "vitest";
import { conditionsOf, matches, regionPrefix, toFilterExpression } from "../../../shared/domain/customers/filters.ts";
import { CustomerListQuerySchema } from "../../../shared/domain/customers/schemas.ts";

const query = (q: Record<string, string>) => CustomerListQuerySchema.parse(q);

describe("regionPrefix", () => {
  it.each([
    ["330000", "33"], // Zhejiang: every region in the province
    ["330100", "3301"], // Hangzhou: every district of the city
    ["330106", "330106"], // Xihu district itself
    ["3301", "3301"],
  ])("%s matches regions starting with %s", (code, prefix) => {
    expect(regionPrefix(code)).toBe(prefix);
  });
});

describe("conditionsOf", () => {
  it("turns each filter into one condition", () => {
    // Act
    const conds = conditionsOf(
      query({ industry: "steel", region: "330100", stage: "formal", category: "size:large" }),
      false,
    );

    // Assess
    expect(conds).toEqual([
      { path: ["industry"], op: "eq", value: "steel" },
      { path: ["region"], op: "prefix", value: "3301" },
      { path: ["stage"], op: "eq", value: "formal" },
      { path: ["categories", "size"], op: "eq", value: "large" },
    ]);
  });

  it("leaves out the owner when the owner is already the key being read", () => {
    expect(conditionsOf(query({ owner: "u-bob" }), true)).toEqual([]);
    expect(conditionsOf(query({ owner: "u-bob" }), false)).toEqual([{ path: ["ownerId"], op: "eq", value: "u-bob" }]);
  });

  it("splits a category filter at the first colon only", () => {
    expect(conditionsOf(query({ category: "time:08:30" }), false)).toEqual([
      { path: ["categories", "time"], op: "eq", value: "08:30" },
    ]);
  });
});

describe("toFilterExpression and matches", () => {
  const conds = conditionsOf(query({ industry: "steel", region: "330000", category: "size:large" }), false);

  it("say nothing when there are no conditions", () => {
    expect(toFilterExpression([])).toBeUndefined();
    expect(matches({ industry: "anything" }, [])).toBe(true);
  });

  it("render every condition with placeholders only, joined by AND", () => {
    // Act
    const f = toFilterExpression(conds)!;

    // Assess
    expect(f.expression).toBe("#f0_0 = :f0 AND begins_with(#f1_0, :f1) AND #f2_0.#f2_1 = :f2");
    expect(f.names).toEqual({ "#f0_0": "industry", "#f1_0": "region", "#f2_0": "categories", "#f2_1": "size" });
    expect(f.values).toEqual({ ":f0": "steel", ":f1": "33", ":f2": "large" });
  });

  it("match an item only when every condition holds", () => {
    // Prepare
    const item = { industry: "steel", region: "330106", categories: { size: "large" } };

    // Act / Assess
    expect(matches(item, conds)).toBe(true);
    expect(matches({ ...item, region: "110101" }, conds)).toBe(false);
    expect(matches({ ...item, categories: {} }, conds)).toBe(false);
    expect(matches({ ...item, industry: undefined }, conds)).toBe(false);
  });
});
