// Tasks, reminder rules and the notifications inbox over HTTP against the local runtime: the 360 view's open tasks,
// complete / snooze / reassign, lists by assignee, customer and due window, data scopes and tenants, bad input as
// problem+json. (The reminder fired end to end through POST /_local/schedules/reminders/run is the last test of
// test/integration/reminders.test.ts: a real tick reaches every tenant with rules, so it runs after the pinned-time
// tests of that file.)
import { beforeAll, describe, expect, it } from "vitest";
import { api, mintToken, uniqueTenant } from "../support/http.ts";
import { DAY } from "../support/reminders.ts";

type Api = ReturnType<typeof api>;
let tenant: string;
let admin: Api;
let sales: Api;
let otherSales: Api;
let viewer: Api;
let stranger: Api;

beforeAll(async () => {
  tenant = uniqueTenant("tsk");
  admin = api(await mintToken({ tenant, sub: "u-admin", roles: ["admin"], dept: "d1" }));
  sales = api(await mintToken({ tenant, sub: "u-sales", roles: ["sales"], dept: "d1" }));
  otherSales = api(await mintToken({ tenant, sub: "u-sales2", roles: ["sales"], dept: "d1" }));
  viewer = api(await mintToken({ tenant, sub: "u-viewer", roles: ["viewer"], dept: "d1" }));
  stranger = api(await mintToken({ tenant: uniqueTenant("other"), sub: "u-x", roles: ["admin"] }));
});

const expectProblem = (res: { status: number; headers: Headers; body: any }, status: number) => {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
};

async function aCustomer(client: Api) {
  const res = await client.post("/v1/customers", { name: "苏州跟进测试有限公司" });
  expect(res.status).toBe(201);
  return res.body as { id: string };
}

const inDays = (d: number) => new Date(Date.now() + d * DAY).toISOString();

describe("tasks over HTTP", () => {
  it("creates, shows open tasks in the 360 view, snoozes, reassigns and completes", async () => {
    const c = await aCustomer(sales);
    const created = await sales.post(
      "/v1/tasks",
      { customerId: c.id, title: "回访报价", dueAt: inDays(1), priority: "high" },
      { "idempotency-key": `k-${c.id}` },
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const t = created.body;
    expect(t).toMatchObject({ status: "open", assigneeId: "u-sales", priority: "high", version: 1 });
    const replay = await sales.post(
      "/v1/tasks",
      { customerId: c.id, title: "回访报价", dueAt: t.dueAt, priority: "high" },
      { "idempotency-key": `k-${c.id}` },
    );
    expect(replay.body.id).toBe(t.id);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");

    const view = await sales.get(`/v1/customers/${c.id}/360`);
    expect(view.body.openTasks.map((x: { id: string }) => x.id)).toEqual([t.id]);

    const snoozed = await sales.patch(`/v1/tasks/${t.id}`, { snoozeUntil: inDays(3) }, { "if-match": '"1"' });
    expect(snoozed.status, JSON.stringify(snoozed.body)).toBe(200);
    expect(Date.parse(snoozed.body.dueAt)).toBeGreaterThan(Date.parse(t.dueAt));
    expectProblem(await sales.patch(`/v1/tasks/${t.id}`, { snoozeUntil: inDays(2) }, { "if-match": '"2"' }), 400);
    expectProblem(await sales.patch(`/v1/tasks/${t.id}`, { status: "done" }, { "if-match": '"1"' }), 409);

    const mine = await sales.get(
      `/v1/tasks?dueFrom=${encodeURIComponent(inDays(2))}&dueTo=${encodeURIComponent(inDays(4))}`,
    );
    expect(mine.body.items.map((x: { id: string }) => x.id)).toEqual([t.id]);
    const early = await sales.get(`/v1/tasks?dueTo=${encodeURIComponent(inDays(2))}`);
    expect(early.body.items).toEqual([]);

    const done = await sales.patch(`/v1/tasks/${t.id}`, { status: "done" }, { "if-match": '"2"' });
    expect(done.body).toMatchObject({ status: "done", completedBy: "u-sales", version: 3 });
    expect((await sales.get(`/v1/customers/${c.id}/360`)).body.openTasks).toEqual([]);
    expect((await sales.get(`/v1/customers/${c.id}`)).body.stats.lastFollowUpAt).toBe(done.body.completedAt);
    const byCustomer = await sales.get(`/v1/tasks?customerId=${c.id}&status=done`);
    expect(byCustomer.body.items.map((x: { id: string }) => x.id)).toEqual([t.id]);
  });

  it("keeps tasks inside the caller's data scope and tenant", async () => {
    const c = await aCustomer(sales);
    const t = (await sales.post("/v1/tasks", { customerId: c.id, title: "送样", dueAt: inDays(1) })).body;

    expectProblem(await otherSales.get(`/v1/tasks/${t.id}`), 404);
    expectProblem(await otherSales.patch(`/v1/tasks/${t.id}`, { status: "done" }, { "if-match": '"1"' }), 404);
    expectProblem(await otherSales.post("/v1/tasks", { customerId: c.id, title: "x", dueAt: inDays(1) }), 404);
    expect((await otherSales.get("/v1/tasks?assignee=u-sales")).body.items).toEqual([]);
    expectProblem(await stranger.get(`/v1/tasks/${t.id}`), 404);
    expect((await admin.get("/v1/tasks?assignee=u-sales")).body.items.map((x: { id: string }) => x.id)).toContain(t.id);
    // A viewer of the department sees the task but may not change it.
    expect((await viewer.get(`/v1/tasks/${t.id}`)).status).toBe(200);
    expectProblem(await viewer.patch(`/v1/tasks/${t.id}`, { status: "done" }, { "if-match": '"1"' }), 403);

    // Reassigned to another sales user who cannot see the customer: it is listed for them only within scope.
    const moved = await sales.patch(`/v1/tasks/${t.id}`, { assigneeId: "u-sales2" }, { "if-match": '"1"' });
    expect(moved.body.assigneeId).toBe("u-sales2");
    expect((await otherSales.get("/v1/tasks")).body.items).toEqual([]);
    expect((await sales.get("/v1/tasks?assignee=u-sales2")).body.items.map((x: { id: string }) => x.id)).toEqual([
      t.id,
    ]);
  });

  it("refuses bad input with problem+json and changes nothing", async () => {
    const c = await aCustomer(sales);
    expectProblem(await sales.post("/v1/tasks", { customerId: c.id, title: "", dueAt: inDays(1) }), 400);
    expectProblem(await sales.post("/v1/tasks", { customerId: c.id, title: "x", dueAt: "tomorrow" }), 400);
    expectProblem(
      await sales.post("/v1/tasks", { customerId: c.id, title: "x", dueAt: inDays(1), priority: "p0" }),
      400,
    );
    expectProblem(await sales.post("/v1/tasks", { customerId: c.id, title: "x", dueAt: inDays(1), extra: 1 }), 400);
    expectProblem(
      await sales.post("/v1/tasks", {
        customerId: c.id,
        title: "x",
        dueAt: inDays(1),
        contactId: "01J00000000000000000000000",
      }),
      400,
    );
    expectProblem(
      await sales.post("/v1/tasks", { customerId: "01J00000000000000000000000", title: "x", dueAt: inDays(1) }),
      404,
    );
    expectProblem(await sales.get("/v1/tasks?status=maybe"), 400);
    expectProblem(await sales.get("/v1/tasks?cursor=forged.cursor"), 400);
    expectProblem(await sales.get("/v1/tasks/not-an-id"), 404);
    expectProblem(await sales.patch("/v1/tasks/01J00000000000000000000000", {}, { "if-match": '"1"' }), 400);
    expect((await sales.get(`/v1/tasks?customerId=${c.id}`)).body.items).toEqual([]);
  });
});

describe("reminder rules over HTTP", () => {
  const rule = {
    name: "A类客户30天未跟进",
    when: { field: "level", op: "eq", value: "A" },
    trigger: { type: "inactivity", days: 30 },
    assignee: "owner",
    channels: [{ type: "webhook", url: "https://hooks.example.com/x", secret: "0123456789abcdef0123" }],
  };

  it("creates, reads (secrets hidden), replaces and deletes; admin only", async () => {
    const created = await admin.post("/v1/reminder-rules", rule);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const r = created.body;
    expect(r.channels[0].secret).toBe("********");
    expect(JSON.stringify((await sales.get("/v1/reminder-rules")).body)).not.toContain("0123456789abcdef0123");
    expectProblem(await sales.post("/v1/reminder-rules", rule), 403);

    const put = await admin.put(
      `/v1/reminder-rules/${r.id}`,
      { ...rule, trigger: { type: "inactivity", days: 60 } },
      {
        "if-match": '"1"',
      },
    );
    expect(put.body).toMatchObject({ version: 2, trigger: { days: 60 } });
    expectProblem(await admin.put(`/v1/reminder-rules/${r.id}`, rule, { "if-match": '"1"' }), 409);
    expectProblem(await stranger.get(`/v1/reminder-rules/${r.id}`), 404);
    expect((await admin.delete(`/v1/reminder-rules/${r.id}`)).status).toBe(204);
    expectProblem(await admin.get(`/v1/reminder-rules/${r.id}`), 404);
  });

  it("validates the condition, trigger, assignee and channels", async () => {
    const bad = [
      { ...rule, when: { field: "nosuch", op: "eq", value: 1 } },
      { ...rule, when: { field: "stats.orderCount", op: "prefix", value: "1" } },
      { ...rule, trigger: { type: "inactivity", days: 0 } },
      { ...rule, trigger: { type: "after_order", status: "teleported", days: 3 } },
      { ...rule, trigger: { type: "date", field: "name", daysBefore: 3 } },
      { ...rule, trigger: { type: "date", field: "contacts.name", daysBefore: 3 } },
      { ...rule, trigger: { type: "date", field: "contacts.birthday", daysBefore: 366 } },
      { ...rule, trigger: { type: "weekly" } },
      { ...rule, assignee: "bad user/" },
      { ...rule, channels: [{ type: "webhook", url: "ftp://x", secret: "0123456789abcdef" }] },
      { ...rule, channels: [{ type: "webhook", url: "https://x.example.com", secret: "short" }] },
      { ...rule, channels: [{ type: "sms" }] },
      { ...rule, name: "" },
    ];
    for (const b of bad) expectProblem(await admin.post("/v1/reminder-rules", b), 400);
    const list = await admin.get("/v1/reminder-rules");
    expect(list.body.items.filter((x: { name: string }) => x.name === rule.name)).toEqual([]);
  });
});

describe("contact birthdays and birthday rules over HTTP", () => {
  it("stores a birthday with or without the year, rejects impossible or malformed ones, and clears it", async () => {
    const c = await aCustomer(sales);
    const base = `/v1/customers/${c.id}/contacts`;
    for (const birthday of ["1990-02-30", "--13-01", "1990/05/03", "2999-01-01", "1850-01-01", "0503", 19900503]) {
      expectProblem(await sales.post(base, { name: "坏生日", birthday }), 400);
    }
    expect((await sales.get(base)).body.items).toEqual([]);
    const withYear = await sales.post(base, { name: "王经理", birthday: "1985-05-03" });
    expect(withYear.status, JSON.stringify(withYear.body)).toBe(201);
    expect(withYear.body.birthday).toBe("1985-05-03");
    const leap = await sales.post(base, { name: "孙女士", birthday: "--02-29" });
    expect(leap.status, JSON.stringify(leap.body)).toBe(201);
    const shown = await sales.get(`${base}/${leap.body.id}`);
    expect(shown.body).toMatchObject({ birthday: "--02-29" });
    expect(shown.body).not.toHaveProperty("GSI3PK");
    expectProblem(await sales.patch(`${base}/${leap.body.id}`, { birthday: "--02-30" }, { "if-match": '"1"' }), 400);
    const cleared = await sales.patch(`${base}/${leap.body.id}`, { birthday: null }, { "if-match": '"1"' });
    expect(cleared.status, JSON.stringify(cleared.body)).toBe(200);
    expect(cleared.body).not.toHaveProperty("birthday");
    const view = await sales.get(`/v1/customers/${c.id}/360`);
    expect(view.body.contacts.map((x: { birthday?: string }) => x.birthday ?? null).sort()).toEqual([
      "1985-05-03",
      null,
    ]);
  });

  it("accepts a date rule on contacts.birthday", async () => {
    const created = await admin.post("/v1/reminder-rules", {
      name: "联系人生日前三天",
      trigger: { type: "date", field: "contacts.birthday", daysBefore: 3 },
      assignee: "owner",
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.trigger).toEqual({ type: "date", field: "contacts.birthday", daysBefore: 3 });
    expect((await admin.delete(`/v1/reminder-rules/${created.body.id}`)).status).toBe(204);
  });
});

describe("reminder index backfill over HTTP", () => {
  it("an admin starts it (202, a reminder-index job that succeeds); anyone else is refused", async () => {
    await aCustomer(sales);
    expectProblem(await sales.post("/v1/reminder-rules/backfill"), 403);
    const started = await admin.post("/v1/reminder-rules/backfill");
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.headers.get("location")).toBe(`/v1/jobs/${started.body.jobId}`);
    let job: any;
    for (let i = 0; i < 600 && !["succeeded", "failed"].includes(job?.status); i++) {
      if (i) await new Promise((r) => setTimeout(r, 100));
      job = (await admin.get(`/v1/jobs/${started.body.jobId}`)).body;
    }
    expect(job).toMatchObject({ type: "reminder-index", status: "succeeded" });
    // Everything written through the API has its index rows already.
    expect(job.counts.indexed).toBe(0);
    expect(job.counts.unchanged).toBeGreaterThan(0);
  });
});
