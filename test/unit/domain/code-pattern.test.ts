// Unit tests for customer code patterns: validation, rendering in the tenant's time zone, and the counter key.
import { describe, expect, it } from "vitest";
import { CodeSchema } from "../../../shared/domain/customers/schemas.ts";
import {
  CodePatternSchema,
  counterKey,
  DEFAULT_CODE_PATTERN,
  renderCode,
} from "../../../shared/domain/settings/code-pattern.ts";

// 17:00 UTC on New Year's Eve is 01:00 on 1 January in Shanghai (UTC+8, no daylight saving).
const NEW_YEAR_IN_SHANGHAI = new Date("2026-12-31T17:00:00Z");

describe("renderCode", () => {
  it("numbers C{yyyy}{seq:6} with the year as it is in Shanghai, not in UTC", () => {
    // Act
    const code = renderCode(DEFAULT_CODE_PATTERN, NEW_YEAR_IN_SHANGHAI, "Asia/Shanghai", 42);

    // Assess
    expect(code).toBe("C2027000042");
  });

  it("uses the year of the tenant's own zone: the same instant is still 2026 in UTC", () => {
    expect(renderCode(DEFAULT_CODE_PATTERN, NEW_YEAR_IN_SHANGHAI, "UTC", 42)).toBe("C2026000042");
  });

  it("fills {yy}, {mm} and {dd} with the local date", () => {
    // Act
    const code = renderCode("K{yy}{mm}{dd}-{seq:3}", NEW_YEAR_IN_SHANGHAI, "Asia/Shanghai", 7);

    // Assess
    expect(code).toBe("K270101-007");
  });

  it("keeps a sequence number wider than the pattern whole", () => {
    expect(renderCode("C{seq:3}", NEW_YEAR_IN_SHANGHAI, "Asia/Shanghai", 12345)).toBe("C12345");
  });

  // Exposes a bug: the pattern schema accepts patterns whose codes the customer code schema refuses
  // (codes must start with a letter or digit and have at most 64 characters).
  it.each([
    ["a pattern starting with '-'", "-{seq:3}"],
    ["a 64-character pattern that renders 68 characters", `${"A".repeat(56)}{seq:12}`],
  ])("renders only valid customer codes from an accepted pattern: %s", (_what, pattern) => {
    // Prepare
    const patternAccepted = CodePatternSchema.safeParse(pattern).success;

    // Act
    const code = renderCode(pattern, NEW_YEAR_IN_SHANGHAI, "Asia/Shanghai", 1);

    // Assess: either the settings refuse the pattern, or the codes it renders are valid customer codes
    const verdict = { patternAccepted, codeValid: CodeSchema.safeParse(code).success };
    expect(verdict, `${pattern} renders ${code}`).not.toEqual({ patternAccepted: true, codeValid: false });
  });
});

describe("counterKey", () => {
  it("is the pattern with its date filled in, so numbering starts over in a new year", () => {
    // Prepare
    const lastDayOf2026 = new Date("2026-12-31T15:59:59Z"); // 23:59:59 in Shanghai

    // Act
    const before = counterKey(DEFAULT_CODE_PATTERN, lastDayOf2026, "Asia/Shanghai");
    const after = counterKey(DEFAULT_CODE_PATTERN, NEW_YEAR_IN_SHANGHAI, "Asia/Shanghai");

    // Assess
    expect(before).toBe("C2026{seq}");
    expect(after).toBe("C2027{seq}");
  });

  it("does not depend on the sequence width", () => {
    expect(counterKey("C{seq:4}", NEW_YEAR_IN_SHANGHAI, "Asia/Shanghai")).toBe("C{seq}");
  });
});

describe("CodePatternSchema", () => {
  it.each([DEFAULT_CODE_PATTERN, "KH-{yy}{mm}/{seq:4}", "{seq:12}", "A.{dd}_{seq:1}"])("accepts %s", (pattern) => {
    expect(CodePatternSchema.safeParse(pattern).success).toBe(true);
  });

  it.each([
    ["no {seq}", "C{yyyy}"],
    ["two {seq}", "C{seq:3}{seq:3}"],
    ["{seq:0}", "C{seq:0}"],
    ["{seq:13}", "C{seq:13}"],
    ["a space", "C {seq:4}"],
    ["a '#', which separates key parts", "C#{seq:4}"],
    ["an unknown token", "C{hh}{seq:4}"],
    ["nothing", "   "],
  ])("refuses a pattern with %s", (_what, pattern) => {
    expect(CodePatternSchema.safeParse(pattern).success).toBe(false);
  });
});
