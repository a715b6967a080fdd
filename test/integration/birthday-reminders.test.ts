// Birthday reminders against DynamoDB Local: a date rule on contacts.birthday fires daysBefore tenant days before each
// contact's birthday, once per contact and year, found through the contacts' birthday index; duplicate and concurrent
// ticks add nothing; 29 February falls on 28 February in other years; the tenant's time zone decides the day; a
// birthday set or changed inside the window is reminded on the next tick, a changed birthday moves its index row, a
// deleted contact is not reminded.
import { describe, expect, it } from "vitest";
import { ContactCreateSchema, ContactPatchSchema } from "../../shared/domain/contacts/schemas.ts";
import { createContact, deleteContact, patchContact } from "../../shared/domain/contacts/service.ts";
import type { Contact } from "../../shared/domain/contacts/schemas.ts";
import { runTenantTick } from "../../shared/domain/reminders/tick.ts";
import { addDays, localDate, startOfLocalDay } from "../../shared/domain/reminders/time.ts";
import { putSettings } from "../../shared/domain/settings/settings.ts";
import type { Caller } from "../../shared/auth/claims.ts";
import { aCaller } from "../support/builders.ts";
import { aRule, DAY, inboxOf, pastCustomer, tasksOf } from "../support/reminders.ts";

const iso = (ms: number) => new Date(ms).toISOString();
const SH = "Asia/Shanghai";

async function aContact(caller: Caller, customerId: string, name: string, birthday: string): Promise<Contact> {
  const res = await createContact(caller, customerId, ContactCreateSchema.parse({ name, birthday }), undefined);
  return res.body as Contact;
}

/** The start of local day `date` in Shanghai, as a Date. */
const dayStart = (date: string, tz = SH) => startOfLocalDay(date, tz);

describe("birthday reminders", () => {
  it("fire daysBefore tenant days before each contact's birthday, once per contact and year", async () => {
    const admin = aCaller();
    const now = Date.now();
    const today = localDate(new Date(now), SH);
    const c = await pastCustomer(admin, iso(now - DAY), { level: "A" });
    const notA = await pastCustomer(admin, iso(now - DAY), { level: "B" });
    const inTen = addDays(today, 10);
    const inThirty = addDays(today, 30);
    const withYear = await aContact(admin, c.id, "王经理", `1985-${inTen.slice(5)}`);
    const noYear = await aContact(admin, c.id, "李总", `--${inThirty.slice(5)}`);
    const soon = await aContact(admin, c.id, "赵工", `1990-${addDays(today, 3).slice(5)}`);
    await aContact(admin, notA.id, "钱会计", `1980-${inTen.slice(5)}`);
    const rule = await aRule(admin, {
      when: { field: "level", op: "eq", value: "A" },
      trigger: { type: "date", field: "contacts.birthday", daysBefore: 7 },
    });

    // A new rule reminds the birthdays of the coming 7 days at once (赵工, in 3 days); the others wait.
    const first = await runTenantTick(admin.tenant, { now: new Date(now) });
    expect(first.fired).toBe(1);
    const due = dayStart(addDays(inTen, -7)).getTime();
    expect((await runTenantTick(admin.tenant, { now: new Date(due - 1) })).fired).toBe(0);
    const atDue = await Promise.all([
      runTenantTick(admin.tenant, { now: new Date(due) }),
      runTenantTick(admin.tenant, { now: new Date(due + 1000) }),
      runTenantTick(admin.tenant, { now: new Date(due) }),
    ]);
    expect(atDue.reduce((n, r) => n + r.fired, 0)).toBe(1);
    expect((await runTenantTick(admin.tenant, { now: new Date(due + 3 * 60_000) })).fired).toBe(0);
    expect((await runTenantTick(admin.tenant, { now: dayStart(addDays(inThirty, -7)) })).fired).toBe(1);

    // Next year, each birthday again, once.
    const nextYear = `${Number(inTen.slice(0, 4)) + 1}${inTen.slice(4)}`;
    const nextDue = dayStart(addDays(nextYear, -7)).getTime();
    // 赵工 (3 days after today) came due first this year, 王经理 next: both caught up by this tick.
    expect((await runTenantTick(admin.tenant, { now: new Date(nextDue) })).fired).toBe(2);
    expect((await runTenantTick(admin.tenant, { now: new Date(nextDue + 60_000) })).fired).toBe(0);

    const tasks = await tasksOf(admin.tenant, c.id);
    const periods = (contactId: string) =>
      tasks
        .filter((t) => t.contactId === contactId)
        .map((t) => t.period)
        .sort();
    expect(periods(withYear.id)).toEqual([
      `birthday:${withYear.id}:${inTen.slice(0, 4)}`,
      `birthday:${withYear.id}:${nextYear.slice(0, 4)}`,
    ]);
    expect(periods(noYear.id)[0]).toBe(`birthday:${noYear.id}:${inThirty.slice(0, 4)}`);
    expect(periods(soon.id)[0]).toBe(`birthday:${soon.id}:${addDays(today, 3).slice(0, 4)}`);
    const firstTask = tasks.find((t) => t.period === `birthday:${withYear.id}:${inTen.slice(0, 4)}`)!;
    expect(firstTask).toMatchObject({ ruleId: rule.id, assigneeId: admin.userId, status: "open" });
    expect(firstTask.title).toContain("王经理");
    expect(await tasksOf(admin.tenant, notA.id)).toHaveLength(0);
    const inbox = await inboxOf(admin.tenant, admin.userId);
    expect(inbox.filter((n) => n.taskId === firstTask.id)).toHaveLength(1);
  });

  it("a tick cut short between pages saves its position; the next ones remind every contact due, once", async () => {
    const admin = aCaller();
    const now = Date.now();
    const inThree = addDays(localDate(new Date(now), SH), 3);
    const contacts: Contact[] = [];
    for (let i = 0; i < 9; i++) {
      const c = await pastCustomer(admin, iso(now - DAY));
      contacts.push(await aContact(admin, c.id, `联系人${i}`, `1980-${inThree.slice(5)}`));
    }
    await aRule(admin, { trigger: { type: "date", field: "contacts.birthday", daysBefore: 7 } });

    const runs = [];
    for (let i = 0; i < 50; i++) {
      const r = await runTenantTick(admin.tenant, { now: new Date(now), pageSize: 1, timeIsShort: () => true });
      runs.push(r);
      if (r.status === "done") break;
    }

    expect(runs.length).toBeGreaterThan(1);
    expect(runs.at(-1)!.status).toBe("done");
    expect(runs.reduce((n, r) => n + r.fired, 0)).toBe(9);
    expect((await runTenantTick(admin.tenant, { now: new Date(now + 60_000) })).fired).toBe(0);
    for (const ct of contacts) {
      const tasks = (await tasksOf(admin.tenant, ct.customerId)).filter((t) => t.contactId === ct.id);
      expect(tasks.map((t) => t.period)).toEqual([`birthday:${ct.id}:${inThree.slice(0, 4)}`]);
    }
  });

  it("29 February falls on 28 February in other years, counted in the tenant's time zone", async () => {
    const admin = aCaller();
    await putSettings(
      admin.tenant,
      admin.userId,
      { customerCodePattern: "C{yyyy}{seq:6}", timeZone: "America/New_York" },
      0,
    );
    const c = await pastCustomer(admin, "2026-01-05T00:00:00.000Z");
    const leapling = await aContact(admin, c.id, "孙女士", "2000-02-29");
    await aRule(admin, { trigger: { type: "date", field: "contacts.birthday", daysBefore: 0 } });
    const ny = (date: string) => startOfLocalDay(date, "America/New_York").getTime();

    expect((await runTenantTick(admin.tenant, { now: new Date(ny("2027-02-27")) })).fired).toBe(0);
    // 05:00 UTC on 28 Feb is still 27 Feb in New York; midnight there (05:00 UTC) is the day.
    expect(new Date(ny("2027-02-28")).toISOString()).toBe("2027-02-28T05:00:00.000Z");
    expect((await runTenantTick(admin.tenant, { now: new Date(ny("2027-02-28") - 1) })).fired).toBe(0);
    expect((await runTenantTick(admin.tenant, { now: new Date(ny("2027-02-28")) })).fired).toBe(1);
    expect((await runTenantTick(admin.tenant, { now: new Date(ny("2027-03-01")) })).fired).toBe(0);
    // In a leap year on the day itself, not on the 28th.
    expect((await runTenantTick(admin.tenant, { now: new Date(ny("2028-02-28")) })).fired).toBe(0);
    expect((await runTenantTick(admin.tenant, { now: new Date(ny("2028-02-29")) })).fired).toBe(1);
    expect((await tasksOf(admin.tenant, c.id)).map((t) => t.period).sort()).toEqual([
      `birthday:${leapling.id}:2027`,
      `birthday:${leapling.id}:2028`,
    ]);
  });

  it("a birthday set or changed is re-planned: inside the window on the next tick, elsewhere on its new day; deleted contacts are not reminded", async () => {
    const admin = aCaller();
    const now = Date.now();
    const today = localDate(new Date(now), SH);
    const c = await pastCustomer(admin, iso(now - DAY));
    await aRule(admin, { trigger: { type: "date", field: "contacts.birthday", daysBefore: 7 } });
    const late = await aContact(admin, c.id, "周经理", `1975-${addDays(today, 60).slice(5)}`);
    const gone = await aContact(admin, c.id, "吴经理", `1975-${addDays(today, 40).slice(5)}`);
    const moved = await aContact(admin, c.id, "郑经理", `1975-${addDays(today, 20).slice(5)}`);
    expect((await runTenantTick(admin.tenant, { now: new Date(now) })).fired).toBe(0);

    // The birthday was wrong: it is in 3 days, a day the rule's range passed already.
    await patchContact(
      admin,
      c.id,
      late.id,
      ContactPatchSchema.parse({ birthday: `1975-${addDays(today, 3).slice(5)}` }),
      1,
    );
    const replanned = await runTenantTick(admin.tenant, { now: new Date(now + 60_000) });
    expect(replanned.fired).toBe(1);
    // Corrected again the same year: it was reminded this year already.
    await patchContact(
      admin,
      c.id,
      late.id,
      ContactPatchSchema.parse({ birthday: `1975-${addDays(today, 5).slice(5)}` }),
      2,
    );
    expect((await runTenantTick(admin.tenant, { now: new Date(now + 120_000) })).fired).toBe(0);

    // Moved from day 20 to day 25: nothing on the old due day, one on the new.
    await patchContact(
      admin,
      c.id,
      moved.id,
      ContactPatchSchema.parse({ birthday: `--${addDays(today, 25).slice(5)}` }),
      1,
    );
    await deleteContact(admin, c.id, gone.id, 1);
    const oldDue = dayStart(addDays(today, 13));
    const newDue = dayStart(addDays(today, 18));
    const goneDue = dayStart(addDays(today, 33));
    expect((await runTenantTick(admin.tenant, { now: oldDue })).fired).toBe(0);
    expect((await runTenantTick(admin.tenant, { now: newDue })).fired).toBe(1);
    expect((await runTenantTick(admin.tenant, { now: goneDue })).fired).toBe(0);

    const byContact = (await tasksOf(admin.tenant, c.id)).map((t) => t.contactId).sort();
    expect(byContact).toEqual([late.id, moved.id].sort());
  });
});
