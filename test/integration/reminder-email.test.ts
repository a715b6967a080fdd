// Reminder e-mail against DynamoDB Local with SES mocked (aws-sdk-client-mock): a tick in the cloud mode sends the
// reminder through SES once; a run that crashed before its watermark moved is repeated and meets the fired guard and
// the send record, so nothing is sent twice; an e-mail that failed (or was lost between the commit and the send) goes
// out on the repeat.
import { SESv2Client, SendEmailCommand, type SendEmailCommandInput } from "@aws-sdk/client-sesv2";
import { DeleteCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { env } from "../../shared/config/env.ts";
import { ddb } from "../../shared/db/client.ts";
import { reminderKeys } from "../../shared/domain/reminders/keys.ts";
import { runTenantTick } from "../../shared/domain/reminders/tick.ts";
import { aCaller } from "../support/builders.ts";
import { aRule, DAY, pastCustomer, tasksOf } from "../support/reminders.ts";

const sesMock = mockClient(SESv2Client);
const iso = (ms: number) => new Date(ms).toISOString();
const saved = { delivery: env.EMAIL_DELIVERY, sender: env.EMAIL_SENDER };

beforeAll(() => {
  env.EMAIL_DELIVERY = "ses";
  env.EMAIL_SENDER = "reminders@crm.example.com";
});
afterAll(() => {
  env.EMAIL_DELIVERY = saved.delivery;
  env.EMAIL_SENDER = saved.sender;
  sesMock.restore();
});
beforeEach(() => sesMock.reset());

/** What a crash before the watermark moved leaves: the rule's range is read again by the next run. */
async function forgetRuleState(tenant: string, ruleId: string) {
  await ddb.send(
    new DeleteCommand({
      TableName: env.TABLE_NAME,
      Key: { PK: reminderKeys.rulesPk(tenant), SK: reminderKeys.stateSk(ruleId) },
    }),
  );
}

describe("reminder e-mail in the cloud mode", () => {
  it("goes out through SES once, however often the reminder is reached again", async () => {
    const admin = aCaller();
    const now = Date.now();
    const c = await pastCustomer(admin, iso(now - 40 * DAY));
    const rule = await aRule(admin, {
      name: "久未联系",
      trigger: { type: "inactivity", days: 30 },
      channels: [{ type: "inbox" }, { type: "email", to: ["owner@example.com"] }],
    });
    sesMock.on(SendEmailCommand).resolves({ MessageId: "m-1" });

    expect((await runTenantTick(admin.tenant, { now: new Date(now) })).fired).toBe(1);
    await forgetRuleState(admin.tenant, rule.id);
    const repeat = await Promise.all([
      runTenantTick(admin.tenant, { now: new Date(now) }),
      runTenantTick(admin.tenant, { now: new Date(now) }),
    ]);
    expect(repeat.reduce((n, r) => n + r.already, 0)).toBeGreaterThanOrEqual(1);

    const sends = sesMock.commandCalls(SendEmailCommand);
    expect(sends).toHaveLength(1);
    const input = sends[0]!.args[0].input as SendEmailCommandInput;
    expect(input.Destination?.ToAddresses).toEqual(["owner@example.com"]);
    expect(input.FromEmailAddress).toBe("reminders@crm.example.com");
    expect(input.Content?.Simple?.Subject?.Data).toBe(`久未联系: ${c.name}`);
    const [task] = await tasksOf(admin.tenant, c.id);
    expect(input.Content?.Simple?.Body?.Text?.Data).toContain(`Task: ${task!.id}`);
  });

  it("an e-mail that failed after the commit is sent when the run is repeated, once", async () => {
    const admin = aCaller();
    const now = Date.now();
    const c = await pastCustomer(admin, iso(now - 40 * DAY));
    const rule = await aRule(admin, {
      trigger: { type: "inactivity", days: 30 },
      channels: [{ type: "email", to: ["owner@example.com"] }],
    });
    sesMock
      .on(SendEmailCommand)
      .rejectsOnce(Object.assign(new Error("SES is down"), { name: "InternalFailure" }))
      .resolves({ MessageId: "m-2" });

    expect((await runTenantTick(admin.tenant, { now: new Date(now) })).fired).toBe(1);
    await forgetRuleState(admin.tenant, rule.id);
    expect((await runTenantTick(admin.tenant, { now: new Date(now) })).already).toBe(1);
    await forgetRuleState(admin.tenant, rule.id);
    expect((await runTenantTick(admin.tenant, { now: new Date(now) })).already).toBe(1);

    expect(sesMock.commandCalls(SendEmailCommand)).toHaveLength(2); // the failed call and the one that went out
    expect(await tasksOf(admin.tenant, c.id)).toHaveLength(1);
  });
});
