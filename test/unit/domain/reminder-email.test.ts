// Unit tests of the reminder e-mail channel with SES and DynamoDB mocked: in the cloud (EMAIL_DELIVERY=ses) the
// reminder goes out through SESv2 from the configured sender to the channel's addresses with the reminder's subject
// and text; the send is claimed in the table first, so a retried delivery that finds the claim does not send again;
// a failed SES call gives the claim back; locally (log) nothing reaches SES.
import { SESv2Client, SendEmailCommand, type SendEmailCommandInput } from "@aws-sdk/client-sesv2";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  PutCommand,
  type PutCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { env } from "../../../shared/config/env.ts";
import { defaultDelivery, deliver } from "../../../shared/domain/reminders/channels.ts";
import { reminderKeys } from "../../../shared/domain/reminders/keys.ts";
import type { Notification, ReminderRule } from "../../../shared/domain/reminders/schemas.ts";
import { aCustomerItem, aTenant } from "./support/builders.ts";

const sesMock = mockClient(SESv2Client);
const ddbMock = mockClient(DynamoDBDocumentClient);

/** The send records as a table would keep them: a Put with the claim's condition fails when one is there. */
function fakeSendRecords() {
  const records = new Map<string, Record<string, unknown>>();
  const keyOf = (k: Record<string, unknown>) => `${String(k.PK)}|${String(k.SK)}`;
  ddbMock.on(PutCommand).callsFake((input: PutCommandInput) => {
    const key = keyOf(input.Item!);
    const had = records.get(key);
    const stale = String(input.ExpressionAttributeValues?.[":stale"]);
    if (had && !(had.status === "sending" && String(had.claimedAt) < stale)) {
      throw new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} });
    }
    records.set(key, { ...input.Item });
    return {};
  });
  ddbMock.on(UpdateCommand).callsFake((input) => {
    const key = keyOf(input.Key);
    records.set(key, { ...records.get(key), status: "sent", messageId: input.ExpressionAttributeValues[":m"] });
    return {};
  });
  ddbMock.on(DeleteCommand).callsFake((input) => {
    records.delete(keyOf(input.Key));
    return {};
  });
  return records;
}

const RULE: ReminderRule = {
  id: "01JRULE0000000000000000000",
  name: "生日前三天",
  trigger: { type: "inactivity", days: 30 },
  assignee: "owner",
  channels: [{ type: "inbox" }, { type: "email", to: ["sales-team@example.com", "boss@example.com"] }],
  escalateAfterHours: 48,
  enabled: true,
  version: 1,
  createdAt: "2026-06-01T00:00:00.000Z",
  updatedAt: "2026-06-01T00:00:00.000Z",
  createdBy: "u-admin",
  updatedBy: "u-admin",
};

function aNotification(customerId: string): Notification {
  return {
    id: "01JNOTE0000000000000000000",
    userId: "u-alice",
    kind: "reminder",
    title: "生日前三天: 杭州西湖贸易有限公司",
    customerId,
    taskId: "01JTASK0000000000000000000",
    ruleId: RULE.id,
    period: "inactive-since:2026-01-02T03:04:05.000Z",
    read: false,
    createdAt: "2026-06-15T02:00:00.000Z",
  };
}

const saved = { delivery: env.EMAIL_DELIVERY, sender: env.EMAIL_SENDER };
beforeEach(() => {
  sesMock.reset();
  ddbMock.reset();
  env.EMAIL_DELIVERY = "ses";
  env.EMAIL_SENDER = "reminders@crm.example.com";
});
afterEach(() => {
  env.EMAIL_DELIVERY = saved.delivery;
  env.EMAIL_SENDER = saved.sender;
});

describe("reminder e-mail through SES", () => {
  it("sends the reminder once: to the channel's addresses, from the sender, with its subject and text", async () => {
    const tenant = aTenant();
    const c = aCustomerItem(tenant);
    const records = fakeSendRecords();
    sesMock.on(SendEmailCommand).resolves({ MessageId: "ses-msg-1" });
    const n = aNotification(c.id);

    await deliver(defaultDelivery, tenant, RULE, n, c);
    // A retried message (or an overlapping tick) reaches the same reminder and channel again.
    await deliver(defaultDelivery, tenant, RULE, n, c);

    const sends = sesMock.commandCalls(SendEmailCommand);
    expect(sends).toHaveLength(1);
    const input = sends[0]!.args[0].input as SendEmailCommandInput;
    expect(input.FromEmailAddress).toBe("reminders@crm.example.com");
    expect(input.Destination?.ToAddresses).toEqual(["sales-team@example.com", "boss@example.com"]);
    expect(input.Content?.Simple?.Subject?.Data).toBe("生日前三天: 杭州西湖贸易有限公司");
    const text = input.Content?.Simple?.Body?.Text?.Data ?? "";
    expect(text).toContain("Customer: 杭州西湖贸易有限公司 (C2026000001)");
    expect(text).toContain(`Task: ${n.taskId}`);
    const record = records.get(`${reminderKeys.sentPk(tenant, RULE.id, c.id)}|${reminderKeys.sentSk(n.period!, 1)}`);
    expect(record).toMatchObject({ status: "sent", messageId: "ses-msg-1" });
  });

  it("gives the claim back when SES fails, so the retry sends it", async () => {
    const tenant = aTenant();
    const c = aCustomerItem(tenant);
    fakeSendRecords();
    sesMock
      .on(SendEmailCommand)
      .rejectsOnce(Object.assign(new Error("Throttling"), { name: "TooManyRequestsException" }))
      .resolves({ MessageId: "ses-msg-2" });

    await deliver(defaultDelivery, tenant, RULE, aNotification(c.id), c); // logged, not thrown: the inbox has it
    await deliver(defaultDelivery, tenant, RULE, aNotification(c.id), c);
    await deliver(defaultDelivery, tenant, RULE, aNotification(c.id), c);

    expect(sesMock.commandCalls(SendEmailCommand)).toHaveLength(2);
    expect(ddbMock.commandCalls(DeleteCommand)).toHaveLength(1);
  });

  it("logs instead of sending when the runtime says log (local), and never mails a user id", async () => {
    const tenant = aTenant();
    const c = aCustomerItem(tenant);
    fakeSendRecords();
    sesMock.on(SendEmailCommand).resolves({ MessageId: "x" });
    env.EMAIL_DELIVERY = "log";
    await deliver(defaultDelivery, tenant, RULE, aNotification(c.id), c);
    env.EMAIL_DELIVERY = "ses";
    await deliver(defaultDelivery, tenant, { ...RULE, channels: [{ type: "email" }] }, aNotification(c.id), c);
    expect(sesMock.commandCalls(SendEmailCommand)).toHaveLength(0);
  });
});
