// The reminder-index backfill job against DynamoDB Local: data written before the reminder indexes (simulated by
// removing the GSI3 rows of a customer profile, a shipped order and a contact with a birthday) is invisible to the
// ticks; the job gives each item its row and marks the customers for re-planning, so every rule fires for them on the
// next tick, once; a second job finds nothing missing and changes nothing.
import type { Context } from "aws-lambda";
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { jobsWorker } from "../../functions/workers/jobs-worker.ts";
import type { Caller } from "../../shared/auth/claims.ts";
import { env } from "../../shared/config/env.ts";
import { ddb } from "../../shared/db/client.ts";
import { ContactCreateSchema } from "../../shared/domain/contacts/schemas.ts";
import { createContact } from "../../shared/domain/contacts/service.ts";
import { readCollection } from "../../shared/domain/customers/repository.ts";
import { getJobItem } from "../../shared/domain/jobs/repository.ts";
import type { JobMessage } from "../../shared/domain/jobs/schemas.ts";
import { actOnOrder } from "../../shared/domain/orders/service.ts";
import { startReminderBackfill } from "../../shared/domain/reminders/backfill.ts";
import { runTenantTick } from "../../shared/domain/reminders/tick.ts";
import { addDays, localDate } from "../../shared/domain/reminders/time.ts";
import { aCaller } from "../support/builders.ts";
import { sqsEvent } from "../support/job-events.ts";
import { newCustomer, newOrder } from "../support/orders.ts";
import { aRule, DAY, pastCustomer, tasksOf } from "../support/reminders.ts";

let seq = 0;
const iso = (ms: number) => new Date(ms).toISOString();

const context = () => ({ awsRequestId: `req-${++seq}`, getRemainingTimeInMillis: () => 60_000 }) as Context;

/** Starts a backfill and runs it to the end in this process (continuations delivered at once). */
async function backfill(caller: Caller) {
  const pending: JobMessage[] = [];
  const { jobId } = await startReminderBackfill(caller, "req", async (m) => void pending.push(m));
  const worker = jobsWorker({ continueJob: async (m) => void pending.push(m) });
  for (let msg = pending.shift(); msg; msg = pending.shift()) {
    expect(await worker(sqsEvent(msg), context())).toEqual({ batchItemFailures: [] });
  }
  return (await getJobItem(caller.tenant, jobId))!;
}

/** Makes a customer's collection look written before the reminder indexes: no GSI3 row on any item. */
async function dropIndexRows(tenant: string, customerId: string) {
  for (const item of await readCollection(tenant, customerId)) {
    if (!item.GSI3PK) continue;
    await ddb.send(
      new UpdateCommand({
        TableName: env.TABLE_NAME,
        Key: { PK: item.PK, SK: item.SK },
        UpdateExpression: "REMOVE GSI3PK, GSI3SK",
      }),
    );
  }
}

describe("the reminder-index backfill job", () => {
  it("indexes old customers, orders and birthdays so the rules fire for them, once; a second run changes nothing", async () => {
    const admin = aCaller();
    const now = Date.now();
    const today = localDate(new Date(now), "Asia/Shanghai");
    const quiet = await pastCustomer(admin, iso(now - 40 * DAY));
    const contact = (
      await createContact(
        admin,
        quiet.id,
        ContactCreateSchema.parse({ name: "老联系人", birthday: `1970-${addDays(today, 3).slice(5)}` }),
        undefined,
      )
    ).body as { id: string };
    const buyer = await newCustomer(admin);
    const o = await newOrder(admin, buyer.id, ["100.00"]);
    let version = o.version;
    for (const action of ["submit", "approve", "ship"] as const) {
      version = (await actOnOrder(admin, o.id, action, {}, version)).version;
    }
    await dropIndexRows(admin.tenant, quiet.id);
    await dropIndexRows(admin.tenant, buyer.id);
    await runTenantTick(admin.tenant, { now: new Date(now) }); // no rules yet: old edits' replan markers go

    await aRule(admin, { name: "久未联系", trigger: { type: "inactivity", days: 30 } });
    await aRule(admin, { name: "发货回访", trigger: { type: "after_order", status: "shipped", days: 0 } });
    await aRule(admin, { name: "生日", trigger: { type: "date", field: "contacts.birthday", daysBefore: 7 } });
    // Without index rows the old data is invisible to the ticks (and the rules' ranges move past it).
    expect((await runTenantTick(admin.tenant, { now: new Date(now) })).fired).toBe(0);

    const first = await backfill(admin);
    expect(first).toMatchObject({ type: "reminder-index", status: "succeeded", counts: { indexed: 2, unchanged: 0 } });
    const profile = (await readCollection(admin.tenant, quiet.id)).find((i) => i.entity === "customer")!;
    expect(String(profile.GSI3SK)).toBe(`${quiet.createdAt}#${quiet.id}`);

    const fired = await runTenantTick(admin.tenant, { now: new Date(now + 60_000) });
    expect(fired.fired).toBe(3);
    expect((await runTenantTick(admin.tenant, { now: new Date(now + 120_000) })).fired).toBe(0);
    expect((await tasksOf(admin.tenant, quiet.id)).map((t) => t.period).sort()).toEqual([
      `birthday:${contact.id}:${addDays(today, 3).slice(0, 4)}`,
      `inactive-since:${quiet.createdAt}`,
    ]);
    expect((await tasksOf(admin.tenant, buyer.id)).map((t) => t.period)).toEqual([`order:${o.id}`]);

    const before = [await readCollection(admin.tenant, quiet.id), await readCollection(admin.tenant, buyer.id)];
    const second = await backfill(admin);
    expect(second).toMatchObject({ status: "succeeded", counts: { indexed: 0, unchanged: 2 } });
    const after = [await readCollection(admin.tenant, quiet.id), await readCollection(admin.tenant, buyer.id)];
    expect(after).toEqual(before);
    expect((await runTenantTick(admin.tenant, { now: new Date(now + 180_000) })).fired).toBe(0);
  });

  it("is for admins only", async () => {
    const sales = aCaller({ role: "sales" });
    await expect(startReminderBackfill(sales, "req", async () => {})).rejects.toMatchObject({ status: 403 });
  });
});
