// Reminder ticks against DynamoDB Local: index-driven due finding, exactly one task and notification per rule,
// customer and period under repeated, concurrent and interrupted ticks; catch-up after missed ticks; the tenant's
// time zone; re-planning after a reclassification or a rule change; completion resetting inactivity; escalation;
// after_order triggers; webhook signatures; the worker's fan-out of a schedule tick; and, last, a reminder fired end
// to end over HTTP through POST /_local/schedules/reminders/run.
import { createHmac } from "node:crypto";
import type { Context } from "aws-lambda";
import { describe, expect, inject, it } from "vitest";
import { remindersWorker } from "../../functions/workers/reminders-worker.ts";
import { CustomerPatchSchema } from "../../shared/domain/customers/schemas.ts";
import { patchCustomer } from "../../shared/domain/customers/service.ts";
import { actOnOrder } from "../../shared/domain/orders/service.ts";
import { createDepartment, putUser } from "../../shared/domain/org/service.ts";
import type { Outgoing } from "../../shared/domain/reminders/channels.ts";
import { readRuleState } from "../../shared/domain/reminders/repository.ts";
import type { ReminderMessage } from "../../shared/domain/reminders/schemas.ts";
import { ReminderRuleInputSchema } from "../../shared/domain/reminders/schemas.ts";
import { replaceRule } from "../../shared/domain/reminders/service.ts";
import { runTenantTick } from "../../shared/domain/reminders/tick.ts";
import { addDays, localDate, startOfLocalDay } from "../../shared/domain/reminders/time.ts";
import { putSettings } from "../../shared/domain/settings/settings.ts";
import { TaskPatchSchema } from "../../shared/domain/tasks/schemas.ts";
import { createTask, patchTask } from "../../shared/domain/tasks/service.ts";
import { aCaller } from "../support/builders.ts";
import { newCustomer, newOrder } from "../support/orders.ts";
import { api, mintToken, uniqueTenant } from "../support/http.ts";
import { aRule, DAY, inboxOf, pastCustomer, tasksOf } from "../support/reminders.ts";
import { sqsEvent } from "../support/job-events.ts";

const queueEvent = (msg: unknown) => sqsEvent(msg, 1, undefined, "reminders");

const iso = (ms: number) => new Date(ms).toISOString();

const expectProblem = (res: { status: number; headers: Headers }, status: number) => {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
};

describe("inactivity reminders", () => {
  it("fire once per rule and customer, only for customers the rule's condition selects, and never again on repeats", async () => {
    const admin = aCaller();
    const now = Date.now();
    const a1 = await pastCustomer(admin, iso(now - 40 * DAY), { level: "A" });
    const a2 = await pastCustomer(admin, iso(now - 35 * DAY), { level: "A" });
    const b = await pastCustomer(admin, iso(now - 40 * DAY), { level: "B" });
    const recent = await pastCustomer(admin, iso(now - 5 * DAY), { level: "A" });
    const rule = await aRule(admin, {
      when: { field: "level", op: "eq", value: "A" },
      trigger: { type: "inactivity", days: 30 },
    });

    const first = await runTenantTick(admin.tenant, { now: new Date(now) });
    const again = await runTenantTick(admin.tenant, { now: new Date(now) });
    const later = await runTenantTick(admin.tenant, { now: new Date(now + 3 * 60_000) });

    expect(first.fired).toBe(2);
    expect(again.fired + later.fired).toBe(0);
    for (const c of [a1, a2]) {
      const tasks = await tasksOf(admin.tenant, c.id);
      expect(tasks).toHaveLength(1);
      expect(tasks[0]).toMatchObject({ ruleId: rule.id, assigneeId: admin.userId, status: "open" });
      expect(tasks[0]!.period).toBe(`inactive-since:${c.createdAt}`);
    }
    expect(await tasksOf(admin.tenant, b.id)).toHaveLength(0);
    expect(await tasksOf(admin.tenant, recent.id)).toHaveLength(0);
    const inbox = await inboxOf(admin.tenant, admin.userId);
    expect(inbox.map((n) => n.customerId).sort()).toEqual([a1.id, a2.id].sort());
  });

  it("concurrent ticks and duplicate deliveries still create exactly one task and notification each", async () => {
    const admin = aCaller();
    const now = Date.now();
    const customers = await Promise.all(
      Array.from({ length: 24 }, (_, i) => pastCustomer(admin, iso(now - (31 + i) * DAY))),
    );
    await aRule(admin, { trigger: { type: "inactivity", days: 30 } });
    const worker = remindersWorker({ send: async () => {}, now: () => new Date(now) });
    const msg: ReminderMessage = { kind: "tenant", tenant: admin.tenant };

    const results = await Promise.all([
      runTenantTick(admin.tenant, { now: new Date(now), pageSize: 2 }),
      runTenantTick(admin.tenant, { now: new Date(now), pageSize: 3 }),
      worker(queueEvent(msg), context()),
      worker(queueEvent(msg), context()),
    ]);

    const fired = results.slice(0, 2).reduce((n, r) => n + (r as { fired: number }).fired, 0);
    expect(fired).toBeLessThanOrEqual(24);
    for (const c of customers) expect(await tasksOf(admin.tenant, c.id)).toHaveLength(1);
    expect(await inboxOf(admin.tenant, admin.userId)).toHaveLength(24);
  });

  it("a run that crashes half-way leaves the watermark; the next run finishes without duplicates", async () => {
    const admin = aCaller();
    const now = Date.now();
    const customers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => pastCustomer(admin, iso(now - (31 + i) * DAY))),
    );
    const rule = await aRule(admin, { trigger: { type: "inactivity", days: 30 } });
    let pages = 0;
    const crashing = () => {
      if (++pages === 4) throw new Error("the Lambda died");
      return false;
    };

    await expect(
      runTenantTick(admin.tenant, { now: new Date(now), pageSize: 1, timeIsShort: crashing }),
    ).rejects.toThrow("the Lambda died");
    const created = (await Promise.all(customers.map((c) => tasksOf(admin.tenant, c.id)))).flat().length;
    expect(created).toBeGreaterThan(0);
    expect(created).toBeLessThan(20);
    expect((await readRuleState(admin.tenant, rule.id)).watermark).toBeUndefined();

    const rest = await runTenantTick(admin.tenant, { now: new Date(now) });

    expect(rest.fired).toBe(20 - created);
    for (const c of customers) expect(await tasksOf(admin.tenant, c.id)).toHaveLength(1);
  });

  it("a run cut short saves each shard's position and its continuation finishes the range", async () => {
    const admin = aCaller();
    const now = Date.now();
    const customers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => pastCustomer(admin, iso(now - (40 + i) * DAY))),
    );
    await aRule(admin, { trigger: { type: "inactivity", days: 30 } });

    const runs = [];
    for (let i = 0; i < 50; i++) {
      const r = await runTenantTick(admin.tenant, { now: new Date(now), pageSize: 2, timeIsShort: () => true });
      runs.push(r);
      if (r.status === "done") break;
    }

    expect(runs.at(-1)!.status).toBe("done");
    expect(runs.length).toBeGreaterThan(1);
    expect(runs.reduce((n, r) => n + r.fired, 0)).toBe(12);
    for (const c of customers) expect(await tasksOf(admin.tenant, c.id)).toHaveLength(1);
  });

  it("catches up ticks missed during an outage: each customer fires once, on the first tick after it became due", async () => {
    const admin = aCaller();
    const now = Date.now();
    const c10 = await pastCustomer(admin, iso(now - 10 * DAY));
    const c20 = await pastCustomer(admin, iso(now - 20 * DAY));
    await aRule(admin, { trigger: { type: "inactivity", days: 30 } });

    const before = await runTenantTick(admin.tenant, { now: new Date(now) });
    // An outage: no tick for 25 days.
    const after = await runTenantTick(admin.tenant, { now: new Date(now + 25 * DAY) });
    const next = await runTenantTick(admin.tenant, { now: new Date(now + 26 * DAY) });

    expect(before.fired).toBe(0);
    expect(after.fired).toBe(2);
    expect(next.fired).toBe(0);
    expect(await tasksOf(admin.tenant, c10.id)).toHaveLength(1);
    expect(await tasksOf(admin.tenant, c20.id)).toHaveLength(1);
  });

  it("counts days in the tenant's time zone: due from local midnight n days after the last activity", async () => {
    const ny = aCaller();
    const sh = aCaller();
    await putSettings(ny.tenant, ny.userId, { customerCodePattern: "C{yyyy}{seq:6}", timeZone: "America/New_York" }, 0);
    // 2026-03-01 01:30 UTC is still Feb 28 in New York and already Mar 1 in Shanghai.
    const at = "2026-03-01T01:30:00.000Z";
    const cNy = await pastCustomer(ny, at);
    const cSh = await pastCustomer(sh, at);
    await aRule(ny, { trigger: { type: "inactivity", days: 10 } });
    await aRule(sh, { trigger: { type: "inactivity", days: 10 } });
    // New York: Feb 28 + 10 days = Mar 10 (after the DST change of Mar 8, so local midnight is 04:00 UTC).
    const nyDue = startOfLocalDay("2026-03-10", "America/New_York").getTime();
    const shDue = startOfLocalDay("2026-03-11", "Asia/Shanghai").getTime();
    expect(iso(nyDue)).toBe("2026-03-10T04:00:00.000Z");
    expect(iso(shDue)).toBe("2026-03-10T16:00:00.000Z");

    expect((await runTenantTick(ny.tenant, { now: new Date(nyDue - 1) })).fired).toBe(0);
    expect((await runTenantTick(ny.tenant, { now: new Date(nyDue) })).fired).toBe(1);
    expect((await runTenantTick(sh.tenant, { now: new Date(nyDue) })).fired).toBe(0);
    expect((await runTenantTick(sh.tenant, { now: new Date(shDue - 1) })).fired).toBe(0);
    expect((await runTenantTick(sh.tenant, { now: new Date(shDue) })).fired).toBe(1);
    expect(await tasksOf(ny.tenant, cNy.id)).toHaveLength(1);
    expect(await tasksOf(sh.tenant, cSh.id)).toHaveLength(1);
  });

  it("completing the follow-up resets inactivity: the next reminder comes n days after the completion", async () => {
    const admin = aCaller();
    const now = Date.now();
    const c = await pastCustomer(admin, iso(now - 40 * DAY));
    await aRule(admin, { trigger: { type: "inactivity", days: 30 } });
    await runTenantTick(admin.tenant, { now: new Date(now) });
    const [task] = await tasksOf(admin.tenant, c.id);

    await patchTask(admin, task!.id, TaskPatchSchema.parse({ status: "done" }), 1);

    expect((await runTenantTick(admin.tenant, { now: new Date(now + 10 * DAY) })).fired).toBe(0);
    expect((await runTenantTick(admin.tenant, { now: new Date(now + 31 * DAY) })).fired).toBe(1);
    const tasks = await tasksOf(admin.tenant, c.id);
    expect(tasks).toHaveLength(2);
    expect(new Set(tasks.map((t) => t.period)).size).toBe(2);
  });
});

describe("re-planning", () => {
  it("a customer reclassified into a rule's condition is reminded on the next tick, once", async () => {
    const admin = aCaller();
    const now = Date.now();
    const c = await pastCustomer(admin, iso(now - 60 * DAY), { level: "B" });
    await aRule(admin, { when: { field: "level", op: "eq", value: "A" }, trigger: { type: "inactivity", days: 30 } });
    expect((await runTenantTick(admin.tenant, { now: new Date(now) })).fired).toBe(0);

    await patchCustomer(admin, c.id, CustomerPatchSchema.parse({ level: "A" }), 1);
    const replanned = await runTenantTick(admin.tenant, { now: new Date(now + 60_000) });
    const again = await runTenantTick(admin.tenant, { now: new Date(now + 120_000) });

    expect(replanned.fired).toBe(1);
    expect(again.fired).toBe(0);
    expect(await tasksOf(admin.tenant, c.id)).toHaveLength(1);
  });

  it("changing a rule's condition plans it again from the start; what already fired does not fire twice", async () => {
    const admin = aCaller();
    const now = Date.now();
    const a = await pastCustomer(admin, iso(now - 60 * DAY), { level: "A" });
    const b = await pastCustomer(admin, iso(now - 60 * DAY), { level: "B" });
    const rule = await aRule(admin, {
      when: { field: "level", op: "eq", value: "A" },
      trigger: { type: "inactivity", days: 30 },
    });
    expect((await runTenantTick(admin.tenant, { now: new Date(now) })).fired).toBe(1);

    await replaceRule(
      admin,
      rule.id,
      ReminderRuleInputSchema.parse({
        name: "跟进",
        assignee: "owner",
        when: { field: "level", op: "in", value: ["A", "B"] },
        trigger: { type: "inactivity", days: 30 },
      }),
      1,
    );
    const replanned = await runTenantTick(admin.tenant, { now: new Date(now + 60_000) });

    expect(replanned.fired).toBe(1);
    expect(replanned.already).toBe(1);
    expect(await tasksOf(admin.tenant, a.id)).toHaveLength(1);
    expect(await tasksOf(admin.tenant, b.id)).toHaveLength(1);
  });
});

describe("after_order reminders", () => {
  it("fire n tenant days after an order is shipped, once per order", async () => {
    const admin = aCaller();
    const c = await newCustomer(admin);
    const o = await newOrder(admin, c.id, ["100.00"]);
    let version = o.version;
    for (const action of ["submit", "approve", "ship"] as const) {
      version = (await actOnOrder(admin, o.id, action, {}, version)).version;
    }
    await aRule(admin, { trigger: { type: "after_order", status: "shipped", days: 3 } });
    const shippedDay = localDate(new Date(), "Asia/Shanghai");
    const due = startOfLocalDay(addDays(shippedDay, 3), "Asia/Shanghai").getTime();

    expect((await runTenantTick(admin.tenant, { now: new Date(due - 1) })).fired).toBe(0);
    expect((await runTenantTick(admin.tenant, { now: new Date(due) })).fired).toBe(1);
    expect((await runTenantTick(admin.tenant, { now: new Date(due + DAY) })).fired).toBe(0);
    const [task] = await tasksOf(admin.tenant, c.id);
    expect(task).toMatchObject({ orderId: o.id, period: `order:${o.id}` });
  });
});

describe("date reminders", () => {
  it("fire daysBefore tenant days before a customer's date field, once; a changed date is planned again", async () => {
    const admin = aCaller();
    const now = Date.now();
    const today = localDate(new Date(now), "Asia/Shanghai");
    const end = addDays(today, 10);
    const c = await pastCustomer(admin, iso(now - DAY), { customFields: { contractEnd: end } });
    const other = await pastCustomer(admin, iso(now - DAY), { customFields: { contractEnd: addDays(today, 30) } });
    await aRule(admin, { trigger: { type: "date", field: "customFields.contractEnd", daysBefore: 7 } });
    const dueDay = startOfLocalDay(addDays(end, -7), "Asia/Shanghai").getTime();

    expect((await runTenantTick(admin.tenant, { now: new Date(now) })).fired).toBe(0);
    expect((await runTenantTick(admin.tenant, { now: new Date(dueDay - 1) })).fired).toBe(0);
    expect((await runTenantTick(admin.tenant, { now: new Date(dueDay) })).fired).toBe(1);
    expect((await runTenantTick(admin.tenant, { now: new Date(dueDay + 60_000) })).fired).toBe(0);
    const [task] = await tasksOf(admin.tenant, c.id);
    expect(task!.period).toBe(`date:${end}`);
    expect(await tasksOf(admin.tenant, other.id)).toHaveLength(0);

    // The contract is extended: the new end date is planned from the change, and reminded in its own time.
    const later = addDays(today, 20);
    await patchCustomer(admin, c.id, CustomerPatchSchema.parse({ customFields: { contractEnd: later } }), 1);
    const laterDue = startOfLocalDay(addDays(later, -7), "Asia/Shanghai").getTime();
    expect((await runTenantTick(admin.tenant, { now: new Date(laterDue - 1) })).fired).toBe(0);
    expect((await runTenantTick(admin.tenant, { now: new Date(laterDue) })).fired).toBe(1);
    expect((await tasksOf(admin.tenant, c.id)).map((t) => t.period).sort()).toEqual([`date:${end}`, `date:${later}`]);
  });

  it("planning a date rule cut short saves each shard's position; its continuation plans every customer, each fired once", async () => {
    const admin = aCaller();
    const now = Date.now();
    const today = localDate(new Date(now), "Asia/Shanghai");
    const end = addDays(today, 10);
    const customers = await Promise.all(
      Array.from({ length: 10 }, () => pastCustomer(admin, iso(now - DAY), { customFields: { contractEnd: end } })),
    );
    const rule = await aRule(admin, { trigger: { type: "date", field: "customFields.contractEnd", daysBefore: 7 } });

    const runs = [];
    for (let i = 0; i < 50; i++) {
      const r = await runTenantTick(admin.tenant, { now: new Date(now), pageSize: 2, timeIsShort: () => true });
      runs.push(r);
      if (r.status === "done") break;
    }
    expect(runs.length).toBeGreaterThan(1);
    expect(runs.at(-1)!.status).toBe("done");
    expect((await readRuleState(admin.tenant, rule.id)).planned).toBe(true);

    const dueDay = startOfLocalDay(addDays(end, -7), "Asia/Shanghai").getTime();
    expect((await runTenantTick(admin.tenant, { now: new Date(dueDay) })).fired).toBe(10);
    expect((await runTenantTick(admin.tenant, { now: new Date(dueDay + 60_000) })).fired).toBe(0);
    for (const c of customers)
      expect((await tasksOf(admin.tenant, c.id)).map((t) => t.period)).toEqual([`date:${end}`]);
  });
});

describe("escalation and channels", () => {
  it("an overdue open task escalates to the customer owner's manager once", async () => {
    const admin = aCaller();
    await createDepartment(admin, { id: "sales", name: "销售部" });
    await putUser(admin, "u-sales", { roles: ["sales"], deptId: "sales", managerId: "u-boss" }, 0);
    const c = await newCustomer(admin, { ownerId: "u-sales" });
    const t = (
      await createTask(
        admin,
        { customerId: c.id, title: "回访", dueAt: iso(Date.now() - 3 * DAY), priority: "high" },
        undefined,
      )
    ).body as { id: string };
    const fresh = (
      await createTask(
        admin,
        { customerId: c.id, title: "新任务", dueAt: iso(Date.now() - 3_600_000), priority: "normal" },
        undefined,
      )
    ).body as { id: string };

    const first = await runTenantTick(admin.tenant, { now: new Date() });
    const second = await runTenantTick(admin.tenant, { now: new Date() });

    expect(first.escalated).toBe(1);
    expect(second.escalated).toBe(0);
    const inbox = await inboxOf(admin.tenant, "u-boss");
    expect(inbox).toHaveLength(1);
    expect(inbox[0]).toMatchObject({ kind: "escalation", taskId: t.id, customerId: c.id });
    expect(inbox.some((n) => n.taskId === fresh.id)).toBe(false);
  });

  it("a webhook channel receives the reminder signed with HMAC-SHA256 over timestamp and body", async () => {
    const admin = aCaller();
    const now = Date.now();
    const c = await pastCustomer(admin, iso(now - 40 * DAY));
    const secret = "a-webhook-secret-of-some-length";
    await aRule(admin, {
      trigger: { type: "inactivity", days: 30 },
      channels: [{ type: "inbox" }, { type: "webhook", url: "https://hooks.example.com/r", secret }, { type: "email" }],
    });
    const sent: Outgoing[] = [];

    await runTenantTick(admin.tenant, { now: new Date(now), deliver: async (m) => void sent.push(m) });
    await runTenantTick(admin.tenant, { now: new Date(now), deliver: async (m) => void sent.push(m) });

    expect(sent.map((m) => m.channel).sort()).toEqual(["email", "webhook"]);
    const hook = sent.find((m) => m.channel === "webhook")!;
    const ts = hook.headers["x-reminder-timestamp"]!;
    const expected = createHmac("sha256", secret).update(`${ts}.${hook.body}`).digest("hex");
    expect(hook.headers["x-reminder-signature"]).toBe(`sha256=${expected}`);
    expect(JSON.parse(hook.body)).toMatchObject({ type: "reminder", customer: { id: c.id } });
  });
});

describe("the reminders worker", () => {
  it("fans a schedule tick out to every tenant with rules", async () => {
    const t1 = aCaller();
    await aRule(t1, { trigger: { type: "inactivity", days: 30 } });
    const sent: ReminderMessage[] = [];
    const worker = remindersWorker({ send: async (m) => void sent.push(m) });

    const res = await worker(queueEvent({ kind: "tick", scheduledAt: iso(Date.now()) }), context());

    expect(res.batchItemFailures).toEqual([]);
    expect(sent).toContainEqual(expect.objectContaining({ kind: "tenant", tenant: t1.tenant }));
  });

  it("reports a malformed message as a failure (to the DLQ in the end) and handles the others", async () => {
    const worker = remindersWorker({ send: async () => {} });
    const bad = queueEvent({ kind: "tenant", tenant: "../etc" } as unknown as ReminderMessage);

    const res = await worker(bad, context());

    expect(res.batchItemFailures).toHaveLength(1);
  });
});

// Last in this file on purpose: a real tick reaches every tenant with rules, including this file's pinned-time tenants.
describe("a reminder end to end", () => {
  it("POST /_local/schedules/reminders/run fires the tick; the owner gets a task and an inbox entry, once", async () => {
    const t = uniqueTenant("rem");
    const owner = api(await mintToken({ tenant: t, sub: "u-owner", roles: ["sales"], dept: "d1" }));
    const boss = api(await mintToken({ tenant: t, sub: "u-boss", roles: ["admin"], dept: "d1" }));
    const c = await pastCustomer(
      { tenant: t, userId: "u-owner", roles: ["sales"], dept: "d1" },
      new Date(Date.now() - 45 * DAY).toISOString(),
    );
    expect(
      (
        await boss.post("/v1/reminder-rules", {
          name: "久未联系",
          trigger: { type: "inactivity", days: 30 },
          assignee: "owner",
        })
      ).status,
    ).toBe(201);

    const run = async () => {
      const res = await fetch(`${inject("local").baseUrl}/_local/schedules/reminders/run`, { method: "POST" });
      expect(res.status).toBe(200);
    };
    await run();
    await run();
    let tasks: { id: string; ruleId: string }[] = [];
    for (let i = 0; i < 100 && tasks.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      tasks = (await owner.get(`/v1/tasks?customerId=${c.id}`)).body.items;
    }
    // Both ticks have been handled once the queue is empty; give the second one time to finish too.
    await new Promise((r) => setTimeout(r, 1500));
    tasks = (await owner.get(`/v1/tasks?customerId=${c.id}`)).body.items;
    expect(tasks).toHaveLength(1);
    const inbox = await owner.get("/v1/notifications");
    expect(inbox.body.items).toHaveLength(1);
    expect(inbox.body.items[0]).toMatchObject({
      kind: "reminder",
      customerId: c.id,
      taskId: tasks[0]!.id,
      read: false,
    });
    expect((await boss.get("/v1/notifications")).body.items).toEqual([]);
    expectProblem(await boss.patch(`/v1/notifications/${inbox.body.items[0].id}`, { read: true }), 404);
    const read = await owner.patch(`/v1/notifications/${inbox.body.items[0].id}`, { read: true });
    expect(read.body).toMatchObject({ read: true });
    expect((await owner.get("/v1/notifications?unread=true")).body.items).toEqual([]);
    expectProblem(await owner.patch(`/v1/notifications/${inbox.body.items[0].id}`, { read: "yes" }), 400);
  });
});

let n = 0;
function context(): Context {
  return { awsRequestId: `req-${++n}`, functionName: "reminders", getRemainingTimeInMillis: () => 60_000 } as Context;
}
