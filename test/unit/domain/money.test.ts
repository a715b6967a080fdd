import { describe, expect, it } from "vitest";
import { addFen, formatFen, moneySchema, mulFen, parseFen } from "../../../shared/domain/money.ts";

describe("money", () => {
  it("parses decimal strings to exact fen and formats them back", () => {
    expect(parseFen("1234.50")).toBe(123450);
    expect(parseFen("0.1")).toBe(10);
    expect(parseFen("0.07")).toBe(7);
    expect(parseFen("19")).toBe(1900);
    expect(parseFen("-3.05")).toBe(-305);
    expect(formatFen(123450)).toBe("1234.50");
    expect(formatFen(7)).toBe("0.07");
    expect(formatFen(-305)).toBe("-3.05");
    expect(formatFen(0)).toBe("0.00");
  });

  it("never rounds: 3 places, exponents and junk are refused", () => {
    for (const s of ["1.005", "0.001", "1e3", "1,000.00", " 1.00", "+1", ".5", "1.", "", "NaN", "99999999999999999"]) {
      expect(parseFen(s), s).toBeUndefined();
    }
  });

  it("adds what floats would get wrong", () => {
    expect(formatFen(addFen(parseFen("0.10")!, parseFen("0.20")!))).toBe("0.30");
    expect(formatFen(mulFen(parseFen("19.99")!, 3))).toBe("59.97");
    let total = 0;
    for (let i = 0; i < 1000; i++) total = addFen(total, parseFen("0.01")!);
    expect(formatFen(total)).toBe("10.00");
  });

  it("refuses amounts beyond the safe-integer range", () => {
    expect(() => addFen(Number.MAX_SAFE_INTEGER, 1)).toThrow(RangeError);
    expect(() => mulFen(Number.MAX_SAFE_INTEGER, 2)).toThrow(RangeError);
    expect(() => formatFen(0.5)).toThrow(RangeError);
  });

  it("the request schema refuses numbers, 3 places and negatives unless allowed", () => {
    const s = moneySchema();
    expect(s.parse("12.30")).toBe(1230);
    expect(s.safeParse(12.3).success).toBe(false);
    expect(s.safeParse("12.345").success).toBe(false);
    expect(s.safeParse("-1.00").success).toBe(false);
    expect(moneySchema({ negative: true }).parse("-1.00")).toBe(-100);
    expect(moneySchema({ positive: true }).safeParse("0.00").success).toBe(false);
  });
});
