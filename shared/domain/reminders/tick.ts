// One tenant's share of a reminder tick: for every enabled rule, the customers that became due since the rule's
// watermark are read from an index range (never a scan), checked against the rule's `when`, and fired: one task and
// one notification per rule, customer and period, in one transaction with a guard that makes a second fire a no-op.
// Then customers marked for re-planning (edited, reclassified) are checked against every rule, and overdue tasks are
// escalated to the owner's manager.
//
// Why it fires exactly once whatever happens:
// - the guard (rule, customer, period) is written with attribute_not_exists in the same transaction as the task and
//   the notification, so duplicate deliveries, overlapping ticks and retries after a crash find it and write nothing;
// - the watermark moves only after its whole range was handled (conditionally on the state read, so an older tick
//   never moves it back); a run cut short saves each shard's position and continues in a new message, a run that
//   crashed leaves the watermark where it was and the range is read again (the guards absorb the repeats);
// - the range always runs from the watermark to today's cutoff, so ticks missed during an outage are caught up.
import { newId } from "../../db/ids.ts";
import { transact } from "../../db/transact.ts";
import { ConflictError, NotFoundError } from "../../http/errors.ts";
import { logger } from "../../log/logger.ts";
import { evaluate } from "../conditions/condition.ts";
import { batchGetProfiles, type CustomerItem, getCustomerItem, readCollection } from "../customers/repository.ts";
import { getUserRecord } from "../org/repository.ts";
import { getSettings } from "../settings/settings.ts";
import { escalationItem, queryOverdue, taskInsertItems } from "../tasks/repository.ts";
import type { Task } from "../tasks/schemas.ts";
import { deliver, type Delivery } from "./channels.ts";
import {
  activityRange,
  birthdayRange,
  customerListPage,
  type DatePlan,
  deleteDatePlans,
  duePlans,
  orderStatusRange,
  putDatePlans,
  repairActivity,
  shardCount,
  type RangePage,
} from "./indexes.ts";
import {
  AlreadyFired,
  clearReplanMarker,
  firedGuard,
  listReplanMarkers,
  listRules,
  notificationPut,
  readFired,
  readRuleState,
  saveRuleState,
} from "./repository.ts";
import { BIRTHDAY_FIELD, type Notification, type ReminderRule } from "./schemas.ts";
import { addDays, birthdayIn, dueCutoff, localDate, nextBirthday, noLeapDay } from "./time.ts";

/** Lowest possible index sort key (instants start with a digit). */
const FLOOR = "0";
/** Fires written side by side. */
const PARALLEL = 16;
/** Tasks without a rule escalate after this many hours overdue. */
export const DEFAULT_ESCALATE_AFTER_HOURS = 48;

export interface TickOptions {
  now: Date;
  /** True when the invocation must stop soon (progress is saved and the run continues elsewhere). */
  timeIsShort?: () => boolean;
  /** Sends webhooks and e-mails (tests capture them). */
  deliver?: Delivery;
  /** Index rows read per Query (default 500). */
  pageSize?: number;
}

export interface TickResult {
  status: "done" | "paused";
  fired: number;
  already: number;
  candidates: number;
  escalated: number;
}

/** The last activity of a customer: creation, an approved order, an interaction, a completed follow-up. */
export function lastActivityOf(c: Record<string, unknown>): string {
  const s = (c.stats ?? {}) as Record<string, unknown>;
  const dates = [c.createdAt, s.lastOrderAt, s.lastInteractionAt, s.lastFollowUpAt].filter(
    (d): d is string => typeof d === "string",
  );
  return dates.sort().at(-1) ?? "";
}

/** The instant before which events are due for a trigger counted in days after them (tenant calendar). */
function cutoffOf(rule: ReminderRule, now: Date, tz: string): string | undefined {
  if (rule.trigger.type === "inactivity" || rule.trigger.type === "after_order") {
    return dueCutoff(now, rule.trigger.days, tz);
  }
  return undefined;
}

/** True for a date rule on the birthdays of the customer's contacts (yearly, per contact). */
export const isBirthdayRule = (rule: ReminderRule): boolean =>
  rule.trigger.type === "date" && rule.trigger.field === BIRTHDAY_FIELD;

/** A birthday rule reaches this far back after an outage (a year: every birthday once). */
const BIRTHDAY_CATCH_UP_DAYS = 366;

/** The local date (YYYY-MM-DD) a date rule's field names on a customer, or undefined. */
export function dateOf(rule: ReminderRule, c: Record<string, unknown>, tz: string): string | undefined {
  if (rule.trigger.type !== "date" || isBirthdayRule(rule)) return undefined;
  let v: unknown = c;
  for (const p of rule.trigger.field.split("."))
    v = v && typeof v === "object" ? (v as Record<string, unknown>)[p] : undefined;
  if (typeof v !== "string" || Number.isNaN(Date.parse(v))) return undefined;
  return /^\d{4}-\d{2}-\d{2}$/.test(v) ? v : localDate(new Date(v), tz);
}

/** The plan of a date rule for a customer: due `daysBefore` local days before the date, while the date is ahead. */
function planOf(rule: ReminderRule, c: Record<string, unknown>, today: string, tz: string): DatePlan | undefined {
  const date = dateOf(rule, c, tz);
  if (!date || rule.trigger.type !== "date" || date < today) return undefined;
  return { customerId: c.id as string, date, dueFrom: addDays(date, -rule.trigger.daysBefore) };
}

class Tick {
  readonly result: TickResult = { status: "done", fired: 0, already: 0, candidates: 0, escalated: 0 };
  constructor(
    readonly tenant: string,
    readonly tz: string,
    readonly opts: TickOptions,
  ) {}

  get today(): string {
    return localDate(this.opts.now, this.tz);
  }

  short(): boolean {
    return this.opts.timeIsShort?.() ?? false;
  }

  /** Creates the task and the notification of (rule, customer, period) unless that period already fired. */
  async fire(
    rule: ReminderRule,
    c: CustomerItem,
    period: string,
    extra: { orderId?: string; contact?: { id: string; name: string } } = {},
  ): Promise<void> {
    const at = this.opts.now.toISOString();
    const assigneeId = rule.assignee === "owner" ? c.ownerId : rule.assignee;
    const task: Task = {
      id: newId(this.opts.now.getTime()),
      customerId: c.id,
      ...(extra.orderId ? { orderId: extra.orderId } : {}),
      ...(extra.contact ? { contactId: extra.contact.id } : {}),
      title: extra.contact ? `${rule.name}: ${extra.contact.name} (${c.name})` : `${rule.name}: ${c.name}`,
      assigneeId,
      dueAt: at,
      priority: "normal",
      status: "open",
      ruleId: rule.id,
      period,
      version: 1,
      createdAt: at,
      updatedAt: at,
      createdBy: `rule:${rule.id}`,
      updatedBy: `rule:${rule.id}`,
    };
    const note: Notification = {
      id: newId(this.opts.now.getTime()),
      userId: assigneeId,
      kind: "reminder",
      title: task.title,
      customerId: c.id,
      taskId: task.id,
      ruleId: rule.id,
      period,
      read: false,
      createdAt: at,
    };
    try {
      await transact([
        firedGuard(this.tenant, rule.id, c.id, period, at, {
          taskId: task.id,
          notificationId: note.id,
          userId: assigneeId,
        }),
        ...taskInsertItems(this.tenant, task),
        notificationPut(this.tenant, note),
      ]);
    } catch (err) {
      if (err instanceof AlreadyFired) {
        this.result.already += 1;
        await this.redeliverEmails(rule, c, period, task.title);
        return;
      }
      if (err instanceof NotFoundError) return; // the customer was deleted meanwhile
      throw err;
    }
    this.result.fired += 1;
    await deliver(this.opts.deliver, this.tenant, rule, note, c);
  }

  /**
   * A repeat of a reminder that fired (a retried message, an overlapping tick, a run after a crash): its e-mails go
   * out if a crash lost them between the commit and the send; the send records stop those that went out already.
   * Webhooks are not repeated.
   */
  async redeliverEmails(rule: ReminderRule, c: CustomerItem, period: string, title: string): Promise<void> {
    if (!rule.channels.some((ch) => ch.type === "email")) return;
    const fired = await readFired(this.tenant, rule.id, c.id, period);
    if (!fired?.notificationId || !fired.taskId || !fired.userId) return;
    const note: Notification = {
      id: fired.notificationId,
      userId: fired.userId,
      kind: "reminder",
      title,
      customerId: c.id,
      taskId: fired.taskId,
      ruleId: rule.id,
      period,
      read: false,
      createdAt: fired.at,
    };
    await deliver(this.opts.deliver, this.tenant, rule, note, c, "email");
  }

  /** Which period (if any) a customer is due for under `rule` now, judging only the profile. */
  profilePeriod(rule: ReminderRule, c: CustomerItem, cutoff: string | undefined): string | undefined {
    if (c.deletedAt || (rule.when && !evaluate(rule.when, c, this.opts.now.getTime()))) return undefined;
    if (rule.trigger.type === "inactivity") {
      const last = lastActivityOf(c);
      return cutoff && last < cutoff ? `inactive-since:${last}` : undefined;
    }
    return undefined;
  }

  /** Handles rows with bounded parallelism. */
  async each<T>(rows: T[], fn: (row: T) => Promise<void>): Promise<void> {
    for (let i = 0; i < rows.length; i += PARALLEL) await Promise.all(rows.slice(i, i + PARALLEL).map(fn));
  }

  /**
   * Reads a range shard by shard, page by page, from the positions `after` of a paused run (per shard: null from the
   * start, a JSON key to resume after, "done"), and hands each page's items to `handle` (counted as candidates). When
   * the time runs short between pages it saves the positions with `pause` and answers "paused".
   */
  async walkShards(
    after: (string | null | "done")[] | undefined,
    page: (shard: number, start: Record<string, unknown> | undefined) => Promise<RangePage>,
    handle: (items: Record<string, unknown>[]) => Promise<unknown>,
    pause: (after: (string | null | "done")[]) => Promise<unknown>,
  ): Promise<"done" | "paused"> {
    const positions = after ?? Array.from({ length: shardCount() }, () => null as string | null | "done");
    for (let shard = 0; shard < positions.length; shard++) {
      let pos = positions[shard];
      while (pos !== "done") {
        const res = await page(shard, pos ? (JSON.parse(pos) as Record<string, unknown>) : undefined);
        this.result.candidates += res.items.length;
        await handle(res.items);
        pos = res.last ? JSON.stringify(res.last) : "done";
        positions[shard] = pos;
        if (pos !== "done" && this.short()) {
          await pause(positions);
          return "paused";
        }
      }
    }
    return "done";
  }

  /** One rule's range from its watermark to today's cutoff. "paused" when the time ran short (position saved). */
  async planRule(rule: ReminderRule): Promise<"done" | "paused"> {
    const trigger = rule.trigger;
    const cutoff = cutoffOf(rule, this.opts.now, this.tz);
    if (!cutoff || trigger.type === "date") return "done";
    const state = await readRuleState(this.tenant, rule.id);
    const watermark = state.watermark ?? FLOOR;
    const pending = state.pending && state.pending.cutoff >= cutoff ? state.pending : undefined;
    const target = pending?.cutoff ?? cutoff;
    if (!pending && target <= watermark) return "done";
    const walked = await this.walkShards(
      pending?.after,
      (shard, start) =>
        trigger.type === "inactivity"
          ? activityRange(this.tenant, shard, watermark, target, start, this.opts.pageSize)
          : orderStatusRange(this.tenant, trigger.status, shard, watermark, target, start, this.opts.pageSize),
      (items) => this.handleRows(rule, items, target),
      (after) =>
        saveRuleState(
          this.tenant,
          rule.id,
          { watermark: state.watermark, pending: { cutoff: target, after } },
          state.rev,
        ),
    );
    if (walked === "paused") return "paused";
    const saved = await saveRuleState(this.tenant, rule.id, { watermark: target }, state.rev);
    if (!saved) logger.info("another tick moved the rule's state first", { tenant: this.tenant, ruleId: rule.id });
    return "done";
  }

  /**
   * A date rule: planned once over every customer when new or changed (resumable like a range), then each tick reads
   * the plan items due by today, fires those whose customer still names that date and matches `when`, and removes
   * them.
   */
  async runDateRule(rule: ReminderRule): Promise<"done" | "paused"> {
    const state = await readRuleState(this.tenant, rule.id);
    if (!state.planned) {
      const walked = await this.walkShards(
        state.pending?.after,
        (shard, start) => customerListPage(this.tenant, shard, start, this.opts.pageSize),
        (items) =>
          putDatePlans(
            this.tenant,
            rule.id,
            items.flatMap((c) => planOf(rule, c, this.today, this.tz) ?? []),
          ),
        (after) => saveRuleState(this.tenant, rule.id, { pending: { cutoff: "", after } }, state.rev),
      );
      if (walked === "paused") return "paused";
      if (!(await saveRuleState(this.tenant, rule.id, { planned: true }, state.rev))) return "done";
    }
    for (let shard = 0; shard < shardCount(); shard++) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await duePlans(this.tenant, rule.id, shard, this.today, start, this.opts.pageSize);
        const profiles = await batchGetProfiles(
          this.tenant,
          page.items.map((p) => p.customerId),
        );
        await this.each(page.items, async (plan) => {
          const c = profiles.get(plan.customerId);
          this.result.candidates += 1;
          if (c && !c.deletedAt && dateOf(rule, c, this.tz) === plan.date && plan.date >= this.today) {
            if (!rule.when || evaluate(rule.when, c, this.opts.now.getTime())) {
              await this.fire(rule, c, `date:${plan.date}`);
            }
          }
        });
        // Handled (fired, already fired, or stale): the plan items go. A changed customer has a marker that plans
        // it again.
        await deleteDatePlans(this.tenant, rule.id, page.items);
        start = page.last;
        if (start && this.short()) return "paused";
      } while (start);
    }
    return "done";
  }

  /**
   * A birthday rule (`date` on contacts.birthday): its watermark is the last local due day handled. A tick reads the
   * birthday index for the birthdays that fell due since (due day + daysBefore, one calendar year per step; 29
   * February counts as 28 February in other years) and fires once per contact and year. A new or changed rule starts
   * with the birthdays of the coming `daysBefore` days; after an outage it catches up at most a year.
   */
  async runBirthdayRule(rule: ReminderRule): Promise<"done" | "paused"> {
    if (rule.trigger.type !== "date") return "done";
    const n = rule.trigger.daysBefore;
    const today = this.today;
    for (;;) {
      const state = await readRuleState(this.tenant, rule.id);
      const floor = addDays(today, -Math.min(n, BIRTHDAY_CATCH_UP_DAYS));
      let from = state.watermark ? addDays(state.watermark, 1) : floor;
      if (from < addDays(today, -BIRTHDAY_CATCH_UP_DAYS)) from = addDays(today, -BIRTHDAY_CATCH_UP_DAYS);
      if (from > today) return "done";
      const year = addDays(from, n).slice(0, 4);
      const yearEnd = addDays(`${year}-12-31`, -n);
      const pending = state.pending && state.pending.cutoff >= from ? state.pending : undefined;
      const end = pending?.cutoff ?? (yearEnd < today ? yearEnd : today);
      const first = addDays(from, n);
      const last = addDays(end, n);
      // In a year without 29 February, its birthdays are due with 28 February's.
      const toMonthDay = noLeapDay(year) && last.slice(5) === "02-28" ? "02-29" : last.slice(5);
      const walked = await this.walkShards(
        pending?.after,
        (shard, start) => birthdayRange(this.tenant, shard, first.slice(5), toMonthDay, start, this.opts.pageSize),
        (items) =>
          this.fireBirthdays(rule, items, (monthDay) => {
            const day = birthdayIn(year, monthDay);
            return day >= first && day <= last ? day : undefined;
          }),
        (after) =>
          saveRuleState(
            this.tenant,
            rule.id,
            { watermark: state.watermark, pending: { cutoff: end, after } },
            state.rev,
          ),
      );
      if (walked === "paused") return "paused";
      if (!(await saveRuleState(this.tenant, rule.id, { watermark: end }, state.rev))) {
        logger.info("another tick moved the rule's state first", { tenant: this.tenant, ruleId: rule.id });
        return "done";
      }
      if (end >= today) return "done";
    }
  }

  /** Fires a birthday rule for contacts (index rows or collection items) whose birthday `dayOf` finds due. */
  async fireBirthdays(
    rule: ReminderRule,
    contacts: Record<string, unknown>[],
    dayOf: (monthDay: string) => string | undefined,
    profiles?: Map<string, CustomerItem>,
  ): Promise<void> {
    const due = contacts.flatMap((ct) => {
      const day = typeof ct.birthday === "string" ? dayOf(ct.birthday.slice(-5)) : undefined;
      return day ? [{ ct, day }] : [];
    });
    if (!due.length) return;
    const customers =
      profiles ?? (await batchGetProfiles(this.tenant, [...new Set(due.map((d) => d.ct.customerId as string))]));
    await this.each(due, async ({ ct, day }) => {
      const c = customers.get(ct.customerId as string);
      if (!c || c.deletedAt || (rule.when && !evaluate(rule.when, c, this.opts.now.getTime()))) return;
      const contact = { id: String(ct.id), name: String(ct.name) };
      await this.fire(rule, c, `birthday:${contact.id}:${day.slice(0, 4)}`, { contact });
    });
  }

  async handleRows(rule: ReminderRule, rows: Record<string, unknown>[], cutoff: string): Promise<void> {
    if (rule.trigger.type === "inactivity") {
      await this.each(rows as CustomerItem[], async (c) => {
        const last = lastActivityOf(c);
        const seen = String((c as Record<string, unknown>).GSI3SK ?? "");
        if (last >= cutoff) {
          // The row lagged the customer's real last activity: move it, so the customer comes up when due.
          if (!seen.startsWith(`${last}#`)) await repairActivity(this.tenant, c.id, seen, last);
          return;
        }
        const period = this.profilePeriod(rule, c, cutoff);
        if (period) await this.fire(rule, c, period);
      });
      return;
    }
    // after_order: the rows are orders; their customers are read in one batch.
    const profiles = await batchGetProfiles(this.tenant, [...new Set(rows.map((o) => o.customerId as string))]);
    await this.each(rows, async (o) => {
      const c = profiles.get(o.customerId as string);
      if (!c || c.deletedAt || (rule.when && !evaluate(rule.when, c, this.opts.now.getTime()))) return;
      await this.fire(rule, c, `order:${String(o.id)}`, { orderId: String(o.id) });
    });
  }

  /**
   * Customers changed since they were planned (reclassified, edited): each is read whole (one Query of its
   * collection) and checked against every rule, whatever its range. Then the marker goes, unless it changed again.
   */
  async replan(rules: ReminderRule[]): Promise<void> {
    const markers = await listReplanMarkers(this.tenant);
    const cutoffs = new Map(rules.map((r) => [r.id, cutoffOf(r, this.opts.now, this.tz)]));
    await this.each(markers, async (m) => {
      const items = await readCollection(this.tenant, m.customerId);
      const c = items.find((i) => i.entity === "customer") as CustomerItem | undefined;
      if (c) {
        for (const rule of rules) {
          this.result.candidates += 1;
          const cutoff = cutoffs.get(rule.id);
          if (rule.trigger.type === "after_order") {
            const status = rule.trigger.status;
            if (c.deletedAt || (rule.when && !evaluate(rule.when, c, this.opts.now.getTime()))) continue;
            const due = items.filter((i) => {
              if (i.entity !== "order" || i.status !== status) return false;
              const history = (i.history ?? []) as { at: string }[];
              const reached = history.at(-1)?.at ?? (i.createdAt as string);
              return !!cutoff && reached < cutoff;
            });
            for (const o of due) await this.fire(rule, c, `order:${String(o.id)}`, { orderId: String(o.id) });
            continue;
          }
          if (isBirthdayRule(rule) && rule.trigger.type === "date") {
            // A birthday set or changed inside the reminder window (which the daily range may have passed).
            const n = rule.trigger.daysBefore;
            const contacts = items.filter((i) => i.entity === "contact");
            await this.fireBirthdays(
              rule,
              contacts,
              (monthDay) => {
                const day = nextBirthday(monthDay, this.today);
                return addDays(day, -n) <= this.today ? day : undefined;
              },
              new Map([[c.id, c]]),
            );
            continue;
          }
          if (rule.trigger.type === "date") {
            const plan = planOf(rule, c, this.today, this.tz);
            if (plan) await putDatePlans(this.tenant, rule.id, [plan]);
            continue;
          }
          const period = this.profilePeriod(rule, c, cutoff);
          if (period) await this.fire(rule, c, period);
        }
      }
      await clearReplanMarker(this.tenant, m.customerId, m.at);
    });
  }

  /** Open tasks overdue by their escalation time: a notification to the customer owner's manager, once. */
  async escalate(rules: ReminderRule[]): Promise<void> {
    const hours = new Map(rules.map((r) => [r.id, r.escalateAfterHours]));
    const minHours = Math.min(DEFAULT_ESCALATE_AFTER_HOURS, ...hours.values());
    const now = this.opts.now.getTime();
    const overdue = await queryOverdue(this.tenant, new Date(now - minHours * 3_600_000).toISOString());
    await this.each(overdue, async (t) => {
      const h = (t.ruleId && hours.get(t.ruleId)) || DEFAULT_ESCALATE_AFTER_HOURS;
      if (Date.parse(t.dueAt) + h * 3_600_000 > now) return;
      const c = await getCustomerItem(this.tenant, t.customerId);
      if (!c || c.deletedAt) return;
      const owner = await getUserRecord(this.tenant, c.ownerId);
      const managerId = owner?.managerId;
      const at = this.opts.now.toISOString();
      const note: Notification | undefined = managerId
        ? {
            id: newId(now),
            userId: managerId,
            kind: "escalation",
            title: `Overdue follow-up: ${t.title}`,
            customerId: t.customerId,
            taskId: t.id,
            ...(t.ruleId ? { ruleId: t.ruleId } : {}),
            read: false,
            createdAt: at,
          }
        : undefined;
      try {
        await transact([
          escalationItem(this.tenant, t, managerId, at),
          ...(note ? [notificationPut(this.tenant, note)] : []),
        ]);
        this.result.escalated += 1;
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
      }
    });
  }
}

/** Runs one tenant's share of a tick at `opts.now`. */
export async function runTenantTick(tenant: string, opts: TickOptions): Promise<TickResult> {
  const [settings, all] = await Promise.all([getSettings(tenant), listRules(tenant)]);
  const rules = all.filter((r) => r.enabled);
  const tick = new Tick(tenant, settings.timeZone, opts);
  await tick.replan(rules);
  for (const rule of rules) {
    const step = isBirthdayRule(rule)
      ? await tick.runBirthdayRule(rule)
      : rule.trigger.type === "date"
        ? await tick.runDateRule(rule)
        : await tick.planRule(rule);
    if (step === "paused") {
      tick.result.status = "paused";
      return tick.result;
    }
  }
  await tick.escalate(rules);
  return tick.result;
}
