// The tenant calendar behind reminders: local dates, the start of a local day across daylight-saving changes, and
// the cutoff "n days after" compares against, with `now` pinned.
import { describe, expect, it } from "vitest";
import {
  addDays,
  birthdayIn,
  dueCutoff,
  localDate,
  nextBirthday,
  startOfLocalDay,
} from "../../../shared/domain/reminders/time.ts";

describe("the tenant calendar", () => {
  it("reads today's date in the tenant's zone", () => {
    const at = new Date("2026-03-01T01:30:00Z");
    expect(localDate(at, "Asia/Shanghai")).toBe("2026-03-01");
    expect(localDate(at, "America/New_York")).toBe("2026-02-28");
  });

  it("adds calendar days across month and year ends", () => {
    expect(addDays("2026-02-27", 2)).toBe("2026-03-01");
    expect(addDays("2028-02-28", 1)).toBe("2028-02-29");
    expect(addDays("2026-01-01", -1)).toBe("2025-12-31");
  });

  it("starts a New York day at 05:00 UTC in winter and 04:00 UTC in summer, either side of the spring change", () => {
    expect(startOfLocalDay("2026-03-08", "America/New_York").toISOString()).toBe("2026-03-08T05:00:00.000Z");
    expect(startOfLocalDay("2026-03-09", "America/New_York").toISOString()).toBe("2026-03-09T04:00:00.000Z");
    expect(startOfLocalDay("2026-11-01", "America/New_York").toISOString()).toBe("2026-11-01T04:00:00.000Z");
    expect(startOfLocalDay("2026-11-02", "America/New_York").toISOString()).toBe("2026-11-02T05:00:00.000Z");
    expect(startOfLocalDay("2026-03-09", "Asia/Shanghai").toISOString()).toBe("2026-03-08T16:00:00.000Z");
  });

  it("starts a day whose midnight a DST gap skips at the first instant that exists on it", () => {
    // Chile moves its clocks from 24:00 to 01:00 on the first Sunday of September.
    const start = startOfLocalDay("2026-09-06", "America/Santiago");
    expect(localDate(start, "America/Santiago")).toBe("2026-09-06");
    expect(localDate(new Date(start.getTime() - 1), "America/Santiago")).toBe("2026-09-05");
  });

  it("makes a 1-day-after event on the day before the change due at the next local midnight, not 24 hours later", () => {
    // An event on Saturday 2026-03-07 in New York; the Sunday has only 23 hours.
    const now = new Date("2026-03-09T04:00:00Z"); // Monday 00:00 EDT
    expect(dueCutoff(now, 2, "America/New_York")).toBe("2026-03-08T05:00:00.000Z");
    expect(dueCutoff(new Date(now.getTime() - 1), 2, "America/New_York")).toBe("2026-03-07T05:00:00.000Z");
  });
});

describe("birthdays", () => {
  it("fall on 28 February in years without the 29th, and the next one is found from any day", () => {
    expect(birthdayIn("2027", "02-29")).toBe("2027-02-28");
    expect(birthdayIn("2028", "02-29")).toBe("2028-02-29");
    expect(birthdayIn("2100", "02-29")).toBe("2100-02-28");
    expect(birthdayIn("2027", "05-03")).toBe("2027-05-03");
    expect(nextBirthday("05-03", "2027-05-03")).toBe("2027-05-03");
    expect(nextBirthday("05-03", "2027-05-04")).toBe("2028-05-03");
    expect(nextBirthday("02-29", "2027-03-01")).toBe("2028-02-29");
    expect(nextBirthday("01-01", "2026-12-31")).toBe("2027-01-01");
  });
});
