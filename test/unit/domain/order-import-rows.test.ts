// Order import rows: dates as spreadsheets write them, a row's validation with the orders API's schemas, and where the
// runner may cut a chunk of order lines.
import { describe, expect, it } from "vitest";
import { ORDER_COLUMNS, rowObject } from "../../../shared/domain/imports/columns.ts";
import { keptOrderRows, parseOrderDate, validateOrderRow } from "../../../shared/domain/imports/order-import.ts";

describe("order dates", () => {
  const tz = "Asia/Shanghai";
  const now = Date.parse("2026-06-01T00:00:00Z");
  it.each([
    ["2026-03-05", "2026-03-05T04:00:00.000Z"],
    ["2026/3/5 14:30", "2026-03-05T06:30:00.000Z"],
    ["2026年3月5日", "2026-03-05T04:00:00.000Z"],
    ["20260305", "2026-03-05T04:00:00.000Z"],
    ["46086", "2026-03-05T04:00:00.000Z"],
    ["46086.75", "2026-03-05T10:00:00.000Z"],
    ["2026-03-05T23:00:00Z", "2026-03-05T23:00:00.000Z"],
  ])("%s -> %s", (cell, iso) => expect(parseOrderDate(cell, tz, now)).toEqual({ at: iso }));
  it.each(["2026-02-30", "2026-13-01", "yesterday", "2027-01-01", "1980-01-01"])("%s is refused", (cell) =>
    expect(parseOrderDate(cell, tz, now).error).toEqual(expect.any(String)),
  );
});

describe("order rows", () => {
  const header = ["订单号", "客户编码", "产品名称", "数量", "单价", "金额"];
  const fields = ["orderNo", "customerCode", "product", "quantity", "unitPrice", "amount"];
  const check = (cells: string[]) =>
    validateOrderRow(rowObject(cells, { fields, ignored: [] }, ORDER_COLUMNS), (f) => header[fields.indexOf(f)] ?? f);

  it("takes money as exact decimals (¥ and thousands separators stripped) and whole quantities", () => {
    expect(check(["PO-1", "C-1", "电机", "1,000", "¥1,234.50", "1234500.00"])).toMatchObject({
      orderNo: "PO-1",
      order: { quantity: 1000, unitPrice: 123450, amount: 123450000 },
      rawLine: { sku: "电机", name: "电机", quantity: 1000, unitPrice: "1234.50" },
    });
  });

  it.each([
    [["PO-1", "C-1", "电机", "1.5", "1.00", ""], "数量", "quantity is a whole number"],
    [["PO-1", "C-1", "电机", "0", "1.00", ""], "数量", "quantity must be positive"],
    [["PO-1", "C-1", "电机", "2", "1.005", ""], "单价", /decimal string with at most 2 places/],
    [["PO-1", "C-1", "电机", "2", "-1.00", ""], "单价", "amount must not be negative"],
    [["PO-1", "C-1", "电机", "2", "1.00", "3.00"], "金额", "is not quantity × unit price"],
    [["PO-1", "C-1", "", "2", "1.00", ""], "产品名称", "required"],
  ])("refuses %j in %s", (cells, column, message) => {
    const r = check(cells);
    expect(r.orderNo).toBe("PO-1"); // a bad row still names its order, which then fails whole
    expect(r.error).toEqual({
      column,
      message: typeof message === "string" ? message : expect.stringMatching(message),
    });
  });
});

describe("chunk boundaries", () => {
  const batch = (...nos: string[]) => nos.map((n) => ({ cells: [n, "x"] }));
  it("holds back the rows of the batch's last order, whatever their case", () => {
    expect(keptOrderRows(batch("A", "B", "b", "B"), 0)).toBe(3);
    expect(keptOrderRows(batch("A", "B", "C"), 0)).toBe(1);
    expect(keptOrderRows(batch("A", "A"), 0)).toBe(2);
    expect(keptOrderRows(batch("A", "B"), -1)).toBe(0);
  });
  it("cuts an order longer than the rows it may hold", () => {
    expect(keptOrderRows(batch(...Array<string>(1001).fill("BIG")), 0)).toBe(0);
  });
});
