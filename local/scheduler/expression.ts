// EventBridge schedule expressions, evaluated in UTC: `rate(n minute|minutes|hour|hours|day|days)` and the 6-field
// `cron(minutes hours day-of-month month day-of-week year)` with * ? , - / and the L, W and # wildcards.

export type ParsedSchedule = RateSchedule | CronSchedule;

export interface RateSchedule {
  kind: "rate";
  expression: string;
  everyMs: number;
}

export interface CronSchedule {
  kind: "cron";
  expression: string;
  minutes: number[];
  hours: number[];
  months: Set<number>;
  years: Set<number>;
  dayOfMonth: DayOfMonth | "any";
  dayOfWeek: DayOfWeek | "any";
}

interface DayOfMonth {
  days: Set<number>;
  last: boolean;
  lastWeekday: boolean;
  nearestWeekday: number[];
}

interface DayOfWeek {
  /** 1 = Sunday ... 7 = Saturday, as EventBridge counts. */
  days: Set<number>;
  nth: Array<{ day: number; n: number }>;
  lastOfMonth: number[];
}

export class ScheduleExpressionError extends Error {
  override readonly name = "ScheduleExpressionError";
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MIN_YEAR = 1970;
const MAX_YEAR = 2199;
const MINUTE = 60_000;
const DAY = 86_400_000;

const UNIT_MS: Record<string, number> = { minute: MINUTE, hour: 60 * MINUTE, day: DAY };

/** Parses an expression; throws ScheduleExpressionError naming what is wrong, as EventBridge would refuse it. */
export function parseScheduleExpression(expression: string): ParsedSchedule {
  const text = expression.trim();
  const rate = /^rate\((.*)\)$/.exec(text);
  if (rate) return parseRate(expression, rate[1]!.trim());
  const cron = /^cron\((.*)\)$/.exec(text);
  if (cron) return parseCron(expression, cron[1]!.trim());
  throw new ScheduleExpressionError(`"${expression}" is neither rate(...) nor cron(...)`);
}

function parseRate(expression: string, body: string): RateSchedule {
  const m = /^(\d+)\s+(minute|minutes|hour|hours|day|days)$/.exec(body);
  if (!m)
    throw new ScheduleExpressionError(`"${expression}": rate takes "<positive integer> <minute(s)|hour(s)|day(s)>"`);
  const value = Number(m[1]);
  const unit = m[2]!;
  if (value <= 0) throw new ScheduleExpressionError(`"${expression}": the rate value must be positive`);
  const singular = !unit.endsWith("s");
  if (value === 1 && !singular)
    throw new ScheduleExpressionError(`"${expression}": a value of 1 takes the singular unit (${unit.slice(0, -1)})`);
  if (value !== 1 && singular)
    throw new ScheduleExpressionError(`"${expression}": a value above 1 takes the plural unit (${unit}s)`);
  return { kind: "rate", expression, everyMs: value * UNIT_MS[singular ? unit : unit.slice(0, -1)]! };
}

function parseValue(token: string, min: number, max: number, field: string, names?: string[]): number {
  let v: number;
  if (/^\d+$/.test(token)) v = Number(token);
  else {
    const i = names?.indexOf(token.toUpperCase()) ?? -1;
    if (i < 0) throw new ScheduleExpressionError(`"${token}" is not a valid ${field} value`);
    v = i + min;
  }
  if (v < min || v > max) throw new ScheduleExpressionError(`${field} value ${v} is outside ${min}-${max}`);
  return v;
}

/** Parses `*`, values, lists, ranges and steps (`a-b/s`, `a/s`, `* /s`) into the sorted values it allows. */
function parseField(text: string, min: number, max: number, field: string, names?: string[]): number[] {
  const out = new Set<number>();
  for (const item of text.split(",")) {
    if (item === "") throw new ScheduleExpressionError(`empty item in ${field} "${text}"`);
    const parts = item.split("/");
    if (parts.length > 2) throw new ScheduleExpressionError(`"${item}" in ${field} has more than one /`);
    const [range, stepText] = parts as [string, string | undefined];
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0)
        throw new ScheduleExpressionError(`step "${stepText}" in ${field} must be a positive integer`);
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === "*") {
      lo = min;
      hi = max;
    } else if (range.includes("-")) {
      const [a, b, ...rest] = range.split("-");
      if (rest.length || a === undefined || b === undefined)
        throw new ScheduleExpressionError(`bad range "${range}" in ${field}`);
      lo = parseValue(a, min, max, field, names);
      hi = parseValue(b, min, max, field, names);
      if (lo > hi) throw new ScheduleExpressionError(`range "${range}" in ${field} runs backwards`);
    } else {
      lo = parseValue(range, min, max, field, names);
      hi = stepText !== undefined ? max : lo;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

function parseDayOfMonth(text: string): DayOfMonth {
  const spec: DayOfMonth = { days: new Set(), last: false, lastWeekday: false, nearestWeekday: [] };
  if (text === "L") spec.last = true;
  else if (text === "LW") spec.lastWeekday = true;
  else if (/^\d+W$/.test(text)) spec.nearestWeekday.push(parseValue(text.slice(0, -1), 1, 31, "day-of-month"));
  else spec.days = new Set(parseField(text, 1, 31, "day-of-month"));
  return spec;
}

function parseDayOfWeek(text: string): DayOfWeek {
  const spec: DayOfWeek = { days: new Set(), nth: [], lastOfMonth: [] };
  const nth = /^([A-Za-z]{3}|\d)#(\d)$/.exec(text);
  const last = /^([A-Za-z]{3}|\d)?L$/.exec(text);
  if (nth) {
    const n = Number(nth[2]);
    if (n < 1 || n > 5) throw new ScheduleExpressionError(`"${text}": the # occurrence must be 1-5`);
    spec.nth.push({ day: parseValue(nth[1]!, 1, 7, "day-of-week", WEEKDAYS), n });
  } else if (last) {
    // A bare L means the last day of the week (Saturday); "6L" the month's last Friday.
    if (last[1] === undefined) spec.days.add(7);
    else spec.lastOfMonth.push(parseValue(last[1], 1, 7, "day-of-week", WEEKDAYS));
  } else {
    spec.days = new Set(parseField(text, 1, 7, "day-of-week", WEEKDAYS));
  }
  return spec;
}

function parseCron(expression: string, body: string): CronSchedule {
  const fields = body.split(/\s+/);
  if (fields.length !== 6) {
    throw new ScheduleExpressionError(
      `"${expression}": cron takes 6 fields (minutes hours day-of-month month day-of-week year), not ${fields.length}`,
    );
  }
  const [min, hour, dom, month, dow, year] = fields as [string, string, string, string, string, string];
  if ((dom === "?") === (dow === "?")) {
    throw new ScheduleExpressionError(`"${expression}": exactly one of day-of-month and day-of-week must be ?`);
  }
  try {
    return {
      kind: "cron",
      expression,
      minutes: parseField(min, 0, 59, "minutes"),
      hours: parseField(hour, 0, 23, "hours"),
      dayOfMonth: dom === "?" ? "any" : parseDayOfMonth(dom),
      months: new Set(parseField(month, 1, 12, "month", MONTHS)),
      dayOfWeek: dow === "?" ? "any" : parseDayOfWeek(dow),
      years: new Set(parseField(year, MIN_YEAR, MAX_YEAR, "year")),
    };
  } catch (err) {
    if (err instanceof ScheduleExpressionError) throw new ScheduleExpressionError(`"${expression}": ${err.message}`);
    throw err;
  }
}

const daysInMonth = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();
/** 1 = Sunday ... 7 = Saturday. */
const weekday = (y: number, m: number, d: number) => new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 1;

function nearestWeekday(y: number, m: number, n: number): number {
  const last = daysInMonth(y, m);
  const d = Math.min(n, last);
  const w = weekday(y, m, d);
  if (w === 7) return d === 1 ? 3 : d - 1; // Saturday: the Friday before, or Monday the 3rd
  if (w === 1) return d === last ? d - 2 : d + 1; // Sunday: the Monday after, or the Friday before at month end
  return d;
}

function dayMatches(c: CronSchedule, y: number, m: number, d: number): boolean {
  if (!c.years.has(y) || !c.months.has(m)) return false;
  const last = daysInMonth(y, m);
  if (c.dayOfMonth !== "any") {
    const s = c.dayOfMonth;
    let lastWeekday = last;
    while (weekday(y, m, lastWeekday) === 1 || weekday(y, m, lastWeekday) === 7) lastWeekday -= 1;
    const ok =
      s.days.has(d) ||
      (s.last && d === last) ||
      (s.lastWeekday && d === lastWeekday) ||
      s.nearestWeekday.some((n) => nearestWeekday(y, m, n) === d);
    if (!ok) return false;
  }
  if (c.dayOfWeek !== "any") {
    const s = c.dayOfWeek;
    const w = weekday(y, m, d);
    const ok =
      s.days.has(w) ||
      s.nth.some((x) => x.day === w && Math.ceil(d / 7) === x.n) ||
      s.lastOfMonth.some((x) => x === w && d + 7 > last);
    if (!ok) return false;
  }
  return true;
}

/** First minute of the day at or after (forward) / at or before (backward) `bound` minutes that the cron allows. */
function timeInDay(c: CronSchedule, bound: number, forward: boolean): number | undefined {
  const hours = forward ? c.hours : [...c.hours].reverse();
  const minutes = forward ? c.minutes : [...c.minutes].reverse();
  for (const h of hours) {
    for (const mi of minutes) {
      const t = h * 60 + mi;
      if (forward ? t >= bound : t <= bound) return t;
    }
  }
  return undefined;
}

function scanCron(c: CronSchedule, fromMs: number, forward: boolean): Date | null {
  let day = Math.floor(fromMs / DAY) * DAY;
  let bound = Math.floor((fromMs - day) / MINUTE);
  for (let i = 0; i < (MAX_YEAR - MIN_YEAR + 2) * 366; i++) {
    const date = new Date(day);
    const y = date.getUTCFullYear();
    if (y > MAX_YEAR || y < MIN_YEAR) return null;
    if (dayMatches(c, y, date.getUTCMonth() + 1, date.getUTCDate())) {
      const t = timeInDay(c, bound, forward);
      if (t !== undefined) return new Date(day + t * MINUTE);
    }
    day += forward ? DAY : -DAY;
    bound = forward ? 0 : 24 * 60 - 1;
  }
  return null;
}

/**
 * The first fire time strictly after `after`, or null when there is none (a cron whose years have passed).
 * Rate schedules tick every interval from `anchor` (when the schedule started, or its last tick).
 */
export function nextFireTime(s: ParsedSchedule, after: Date, anchor: Date = after): Date | null {
  if (s.kind === "rate") {
    const k = Math.max(1, Math.floor((after.getTime() - anchor.getTime()) / s.everyMs) + 1);
    return new Date(anchor.getTime() + k * s.everyMs);
  }
  return scanCron(s, Math.floor(after.getTime() / MINUTE) * MINUTE + MINUTE, true);
}

/** The latest fire time at or before `atOrBefore` (and after `anchor` for rates), or null when there is none. */
export function previousFireTime(s: ParsedSchedule, atOrBefore: Date, anchor: Date): Date | null {
  if (s.kind === "rate") {
    const k = Math.floor((atOrBefore.getTime() - anchor.getTime()) / s.everyMs);
    return k >= 1 ? new Date(anchor.getTime() + k * s.everyMs) : null;
  }
  return scanCron(s, atOrBefore.getTime(), false);
}
