// Calendar arithmetic in a tenant's time zone: what "today" is, when a local day starts (daylight saving included),
// and the cutoffs reminder triggers compare against. Pure; `now` is always a parameter.

/** The local calendar date (YYYY-MM-DD) of an instant in `timeZone`. */
export function localDate(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(at)
    .reduce<Record<string, string>>((acc, p) => ((acc[p.type] = p.value), acc), {});
  return `${parts.year}-${parts.month}-${parts.day}`;
}

/** A calendar date `days` later (or earlier) than `date` (YYYY-MM-DD); calendar days, whatever the zone does. */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** Offset of `timeZone` from UTC at instant `ms`, in milliseconds (east positive). */
function offsetAt(ms: number, timeZone: string): number {
  const p = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  })
    .formatToParts(new Date(ms))
    .reduce<Record<string, number>>((acc, x) => (x.type !== "literal" && (acc[x.type] = Number(x.value)), acc), {});
  const asUtc = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant a local calendar day begins in `timeZone` (its first existing moment: where a DST gap swallows
 * midnight, the day starts when the clocks jump).
 */
export function startOfLocalDay(date: string, timeZone: string): Date {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  const midnightUtc = Date.UTC(y, m - 1, d);
  let guess = midnightUtc - offsetAt(midnightUtc, timeZone);
  guess = midnightUtc - offsetAt(guess, timeZone);
  // In a gap the guess lands on the previous day; the day then starts at the first instant that is on it.
  if (localDate(new Date(guess), timeZone) < date) {
    const hours = Array.from({ length: 4 }, (_, h) => guess + (h + 1) * 3_600_000);
    guess = hours.find((t) => localDate(new Date(t), timeZone) === date) ?? guess;
  }
  return new Date(guess);
}

/**
 * "n days after" an event, counted in the tenant's calendar: an event on local day D is due on day D + n. At `now`,
 * every event before this instant is due: the start of local day (today - n + 1).
 */
export function dueCutoff(now: Date, days: number, timeZone: string): string {
  return startOfLocalDay(addDays(localDate(now, timeZone), 1 - days), timeZone).toISOString();
}

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/**
 * The day a birthday (`MM-DD`) falls on in `year` (YYYY-MM-DD): 29 February is celebrated on 28 February in years
 * without it.
 */
export function birthdayIn(year: string, monthDay: string): string {
  return monthDay === "02-29" && !isLeap(Number(year)) ? `${year}-02-28` : `${year}-${monthDay}`;
}

/** The first day on or after `date` that is the birthday `monthDay`. */
export function nextBirthday(monthDay: string, date: string): string {
  const y = Number(date.slice(0, 4));
  const thisYear = birthdayIn(String(y), monthDay);
  return thisYear >= date ? thisYear : birthdayIn(String(y + 1), monthDay);
}

/** True when `year` has no 29 February. */
export const noLeapDay = (year: string) => !isLeap(Number(year));
