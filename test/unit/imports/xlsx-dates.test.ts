// Numbers and dates in XLSX cells: Excel stores a date as a serial day number in a date style, and a formula's result
// with binary noise; the import reads what the user sees. Format codes as Excel (en-US and zh-CN) and WPS write them.
import { describe, expect, it } from "vitest";
import { cellText, excelNumber, formatKind, serialText } from "../../../shared/domain/imports/xlsx.ts";

describe("formatKind", () => {
  it.each([
    ["yyyy/m/d", "date"],
    ["yyyy-mm-dd", "date"],
    ['yyyy"年"m"月"d"日"', "date"],
    ['[DBNum1][$-804]yyyy"年"m"月"d"日"', "date"],
    ["[$-409]mmmm\\ d\\,\\ yyyy;@", "date"],
    ["mmm-yy", "date"],
    ["ddd", "date"],
    ["m/d/yy h:mm", "datetime"],
    ["yyyy/m/d h:mm:ss AM/PM", "datetime"],
    ["h:mm", "time"],
    ["mm:ss", "time"],
    ["[h]:mm:ss", "time"],
    ['上午/下午h"时"mm"分"', "time"],
    ["h:mm AM/PM", "time"],
  ])("%s shows a %s", (code, kind) => {
    expect(formatKind(code)).toBe(kind);
  });

  it.each([
    "General",
    "0",
    "0.00",
    "#,##0.00_ ;[Red]\\-#,##0.00\\ ",
    "0.00%",
    "0.00E+00",
    "@",
    '#,##0" 元"',
    '[$¥-804]#,##0.00;[Red]"-"[$¥-804]#,##0.00',
    '0 "days"',
  ])("%s shows a number or text, not a date", (code) => {
    expect(formatKind(code)).toBeUndefined();
  });
});

describe("serialText", () => {
  it("reads the 1900 system as Excel does, Lotus' 29 February 1900 included", () => {
    expect(serialText(1, "date")).toBe("1900-01-01");
    expect(serialText(59, "date")).toBe("1900-02-28");
    expect(serialText(61, "date")).toBe("1900-03-01");
    expect(serialText(31170, "date")).toBe("1985-05-03");
    expect(serialText(46356, "date")).toBe("2026-11-30");
  });

  it("reads the 1904 system (old Mac workbooks) four years and a day later", () => {
    expect(serialText(0, "date", true)).toBe("1904-01-01");
    expect(serialText(31170 - 1462, "date", true)).toBe("1985-05-03");
  });

  it("gives the time to the second for a date and time, and the date alone at midnight", () => {
    expect(serialText(46356.5, "datetime")).toBe("2026-11-30 12:00:00");
    expect(serialText(46356 + (9 * 3600 + 30 * 60 + 15) / 86_400, "datetime")).toBe("2026-11-30 09:30:15");
    expect(serialText(46356, "datetime")).toBe("2026-11-30");
    expect(serialText(0.75, "time")).toBe("18:00:00");
    // A fraction a hair under the second (how Excel stores 14:30) rounds to it.
    expect(serialText(46356.604166666664, "datetime")).toBe("2026-11-30 14:30:00");
  });

  it("leaves numbers no date has alone", () => {
    expect(serialText(-1, "date")).toBeUndefined();
    expect(serialText(3_000_000, "date")).toBeUndefined();
    expect(serialText(Number.NaN, "date")).toBeUndefined();
  });
});

describe("excelNumber", () => {
  it.each([
    ["112.88700000000001", "112.887"],
    ["10.499999999999998", "10.5"],
    ["0.30000000000000004", "0.3"],
    ["13800138000", "13800138000"],
    ["1.5E-3", "0.0015"],
    ["-3", "-3"],
    ["100", "100"],
  ])("%s is shown as %s", (stored, shown) => {
    expect(excelNumber(stored)).toBe(shown);
  });

  it("keeps what is not a plain number as it is", () => {
    expect(excelNumber("")).toBe("");
    expect(excelNumber("#DIV/0!")).toBe("#DIV/0!");
    expect(excelNumber("1e400")).toBe("1e400");
  });
});

describe("cellText", () => {
  it("reads each cell type as the user sees it", () => {
    const shared = ["上海浦东贸易"];
    expect(cellText("s", "0", shared, undefined, false)).toBe("上海浦东贸易");
    expect(cellText("b", "1", shared, undefined, false)).toBe("TRUE");
    expect(cellText("n", "31170", shared, "date", false)).toBe("1985-05-03");
    expect(cellText("n", "10.499999999999998", shared, undefined, false)).toBe("10.5");
    expect(cellText("str", "=A1", shared, undefined, false)).toBe("=A1");
    // Strict OOXML's ISO dates (t="d"): the date alone at midnight.
    expect(cellText("d", "1985-05-03T00:00:00", shared, undefined, false)).toBe("1985-05-03");
    expect(cellText("d", "2026-11-30T10:30:00", shared, undefined, false)).toBe("2026-11-30 10:30:00");
  });
});
