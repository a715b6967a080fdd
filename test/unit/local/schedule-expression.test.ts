// EventBridge schedule expressions: what parses, what is refused, and when each fires next (UTC).
import { describe, expect, it } from "vitest";
import { nextFireTime, parseScheduleExpression, previousFireTime } from "../../../local/scheduler/expression.ts";

const at = (iso: string) => new Date(iso);
const next = (expr: string, after: string, anchor?: string) =>
  nextFireTime(parseScheduleExpression(expr), at(after), anchor ? at(anchor) : undefined)?.toISOString() ?? null;

describe("rate expressions", () => {
  it("tick every interval from the anchor", () => {
    expect(next("rate(5 minutes)", "2024-01-01T00:07:00Z", "2024-01-01T00:00:00Z")).toBe("2024-01-01T00:10:00.000Z");
    expect(next("rate(1 hour)", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z")).toBe("2024-01-01T01:00:00.000Z");
    expect(next("rate(1 day)", "2024-01-01T10:30:00Z", "2024-01-01T10:30:00Z")).toBe("2024-01-02T10:30:00.000Z");
    expect(next("rate(2 days)", "2024-01-04T00:00:00Z", "2024-01-01T00:00:00Z")).toBe("2024-01-05T00:00:00.000Z");
  });

  it.each([
    "rate(1 minutes)",
    "rate(5 minute)",
    "rate(0 minutes)",
    "rate(5 seconds)",
    "rate(-1 days)",
    "rate(five minutes)",
  ])("refuses %s", (expr) => expect(() => parseScheduleExpression(expr)).toThrow());
});

describe("cron expressions", () => {
  it.each([
    ["cron(0 10 * * ? *)", "2024-01-01T09:59:30Z", "2024-01-01T10:00:00.000Z"],
    ["cron(0 10 * * ? *)", "2024-01-01T10:00:00Z", "2024-01-02T10:00:00.000Z"],
    ["cron(0/15 * * * ? *)", "2024-01-01T00:16:00Z", "2024-01-01T00:30:00.000Z"],
    ["cron(*/20 * * * ? *)", "2024-01-01T00:41:00Z", "2024-01-01T01:00:00.000Z"],
    ["cron(0 8-10/2 * * ? *)", "2024-01-01T08:30:00Z", "2024-01-01T10:00:00.000Z"],
    ["cron(0 18 ? * MON-FRI *)", "2024-03-01T18:00:00Z", "2024-03-04T18:00:00.000Z"],
    ["cron(0 12 ? * SUN,SAT *)", "2024-03-01T00:00:00Z", "2024-03-02T12:00:00.000Z"],
    ["cron(0 12 ? * 1 *)", "2024-03-01T00:00:00Z", "2024-03-03T12:00:00.000Z"],
    ["cron(0 8 1 * ? *)", "2024-01-15T00:00:00Z", "2024-02-01T08:00:00.000Z"],
    ["cron(0 9 ? * 2#1 *)", "2024-03-01T00:00:00Z", "2024-03-04T09:00:00.000Z"],
    ["cron(0 9 ? * MON#3 *)", "2024-03-01T00:00:00Z", "2024-03-18T09:00:00.000Z"],
    ["cron(0 0 L * ? *)", "2024-02-10T00:00:00Z", "2024-02-29T00:00:00.000Z"],
    ["cron(0 0 ? * 6L *)", "2024-03-01T00:00:00Z", "2024-03-29T00:00:00.000Z"],
    ["cron(0 0 15W * ? *)", "2024-06-01T00:00:00Z", "2024-06-14T00:00:00.000Z"],
    ["cron(0 0 1W * ? *)", "2024-08-31T12:00:00Z", "2024-09-02T00:00:00.000Z"],
    ["cron(0 0 LW * ? *)", "2024-03-01T00:00:00Z", "2024-03-29T00:00:00.000Z"],
    ["cron(0 0 1,15 JAN,JUL ? *)", "2024-01-02T00:00:00Z", "2024-01-15T00:00:00.000Z"],
    ["cron(30 2 1 JAN ? 2030)", "2024-05-05T00:00:00Z", "2030-01-01T02:30:00.000Z"],
    ["cron(0 0 29 2 ? *)", "2024-03-01T00:00:00Z", "2028-02-29T00:00:00.000Z"],
  ])("%s after %s fires at %s", (expr, after, expected) => {
    expect(next(expr, after)).toBe(expected);
  });

  it("has no next time once its years are over", () => {
    expect(next("cron(0 0 1 1 ? 2020)", "2024-01-01T00:00:00Z")).toBeNull();
  });

  it.each([
    "cron(0 10 * * * *)", // day-of-month and day-of-week both set
    "cron(0 10 ? * ? *)", // neither set
    "cron(0 10 * * ?)", // five fields
    "cron(60 * * * ? *)",
    "cron(0 24 * * ? *)",
    "cron(0 0 32 * ? *)",
    "cron(0 0 * 13 ? *)",
    "cron(0 0 ? * 8 *)",
    "cron(0 0 ? * FOO *)",
    "cron(0/0 * * * ? *)",
    "cron(10-5 * * * ? *)",
    "cron(0 0 * * ? 1969)",
    "every 5 minutes",
  ])("refuses %s", (expr) => expect(() => parseScheduleExpression(expr)).toThrow());
});

describe("previous fire time (for a tick missed while stopped)", () => {
  it("finds the latest tick at or before a time", () => {
    const daily = parseScheduleExpression("cron(0 10 * * ? *)");
    expect(previousFireTime(daily, at("2024-01-05T09:00:00Z"), at("2024-01-01T00:00:00Z"))?.toISOString()).toBe(
      "2024-01-04T10:00:00.000Z",
    );
    expect(previousFireTime(daily, at("2024-01-05T10:00:00Z"), at("2024-01-01T00:00:00Z"))?.toISOString()).toBe(
      "2024-01-05T10:00:00.000Z",
    );
    const rate = parseScheduleExpression("rate(5 minutes)");
    expect(previousFireTime(rate, at("2024-01-01T00:12:00Z"), at("2024-01-01T00:00:00Z"))?.toISOString()).toBe(
      "2024-01-01T00:10:00.000Z",
    );
    expect(previousFireTime(rate, at("2024-01-01T00:04:00Z"), at("2024-01-01T00:00:00Z"))).toBeNull();
  });
});
