// Unit tests for ids: shape, time order, and the shard hash.
import { describe, expect, it } from "vitest";
import { isId, newId, shardOf } from "../../../shared/db/ids.ts";

describe("newId", () => {
  it("makes 26-character ids that isId recognises", () => {
    // Act
    const ids = Array.from({ length: 200 }, () => newId());

    // Assess
    expect(ids.every((id) => id.length === 26 && isId(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("makes ids that sort by the time they were made", () => {
    // Act
    const earlier = newId(Date.parse("2026-01-01T00:00:00.000Z"));
    const later = newId(Date.parse("2026-01-01T00:00:00.001Z"));
    const muchLater = newId(Date.parse("2031-06-01T00:00:00.000Z"));

    // Assess
    expect([muchLater, later, earlier].sort()).toEqual([earlier, later, muchLater]);
  });
});

describe("isId", () => {
  it.each([
    ["lower case", "01j0000000000000000000000a"],
    ["letters outside Crockford base32 (I, L, O, U)", "01J000000000000000000000IL"],
    ["25 characters", "01J000000000000000000000A"],
    ["a path traversal", "../../PROFILE"],
    ["nothing", undefined],
  ])("refuses %s", (_what, s) => {
    expect(isId(s)).toBe(false);
  });
});

describe("shardOf", () => {
  it("is stable and stays within the shard count", () => {
    // Prepare
    const ids = Array.from({ length: 500 }, () => newId());

    // Act
    const shards = ids.map((id) => shardOf(id, 8));

    // Assess
    expect(shards.every((s) => Number.isInteger(s) && s >= 0 && s < 8)).toBe(true);
    expect(ids.map((id) => shardOf(id, 8))).toEqual(shards);
    expect(new Set(shards).size).toBe(8);
  });
});
