// Unit tests of one reminder tick against a mocked DynamoDB: what a fire writes (task, its pointer, the customer
// check, the notification and the fired guard, all in one transaction), that a guard already there means "already
// fired" and nothing else, that the customers come from an index range (never a scan), and the watermark moves last.
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { customerKeys } from "../../../shared/domain/customers/keys.ts";
import { reminderKeys } from "../../../shared/domain/reminders/keys.ts";
import { runTenantTick } from "../../../shared/domain/reminders/tick.ts";
import { taskKeys } from "../../../shared/domain/tasks/keys.ts";
import { aCustomerItem, aTenant, cancelWhere, type TransactItem } from "./support/builders.ts";

const ddbMock = mockClient(DynamoDBDocumentClient);
const NOW = new Date("2026-06-15T02:00:00Z"); // 10:00 in Shanghai
const RULE_ID = "01JRULE0000000000000000000";

const transactions = (): TransactItem[][] =>
  ddbMock.commandCalls(TransactWriteCommand).map((c) => (c.args[0].input as TransactWriteCommandInput).TransactItems!);

function setUp(tenant: string, customers: Record<string, unknown>[]) {
  ddbMock.on(GetCommand).resolves({});
  ddbMock.on(BatchGetCommand).resolves({ Responses: {} });
  ddbMock.on(UpdateCommand).resolves({});
  ddbMock.on(TransactWriteCommand).resolves({});
  ddbMock.on(QueryCommand).resolves({ Items: [] });
  ddbMock
    .on(QueryCommand, { ExpressionAttributeValues: { ":pk": reminderKeys.rulesPk(tenant), ":p": "RULE#" } })
    .resolves({
      Items: [
        {
          id: RULE_ID,
          name: "久未联系",
          when: { field: "level", op: "eq", value: "A" },
          trigger: { type: "inactivity", days: 30 },
          assignee: "owner",
          channels: [{ type: "inbox" }],
          escalateAfterHours: 48,
          enabled: true,
          version: 1,
        },
      ],
    });
  ddbMock
    .on(QueryCommand, { IndexName: "GSI3", ExpressionAttributeValues: { ":pk": customerKeys.activityPk(tenant, 0) } })
    .resolves({ Items: customers });
}

beforeEach(() => ddbMock.reset());

describe("a reminder tick", () => {
  it("reads due customers from the activity index range and fires each in one transaction with its guard", async () => {
    const tenant = aTenant();
    const due = aCustomerItem(tenant, { level: "A", createdAt: "2026-04-01T00:00:00.000Z" });
    const otherClass = aCustomerItem(tenant, { level: "B", createdAt: "2026-04-01T00:00:00.000Z" });
    setUp(tenant, [due, otherClass]);

    const result = await runTenantTick(tenant, { now: NOW });

    expect(result).toMatchObject({ status: "done", fired: 1, already: 0 });
    expect(ddbMock.commandCalls(ScanCommand)).toHaveLength(0);
    const ranges = ddbMock
      .commandCalls(QueryCommand)
      .map((c) => c.args[0].input as QueryCommandInput)
      .filter((q) => q.IndexName === "GSI3");
    expect(ranges).toHaveLength(8); // one per shard
    // 30 days before 2026-06-15 in Shanghai: due when last active before local 2026-05-17 00:00 (+08:00).
    expect(ranges[0]!.ExpressionAttributeValues).toMatchObject({ ":from": "0", ":to": "2026-05-16T16:00:00.000Z" });

    const [tx] = transactions();
    expect(tx).toHaveLength(5);
    const guard = tx!.find((i) => i.Put?.Item?.entity === "reminder-fired")!.Put!;
    expect(guard.Item).toMatchObject({
      PK: reminderKeys.firedPk(tenant, RULE_ID, due.id),
      SK: `inactive-since:${due.createdAt}`,
    });
    expect(guard.ConditionExpression).toBe("attribute_not_exists(PK)");
    const task = tx!.find((i) => i.Put?.Item?.entity === "task")!.Put!.Item!;
    expect(task).toMatchObject({
      PK: taskKeys.pk(tenant, due.id),
      assigneeId: due.ownerId,
      ruleId: RULE_ID,
      status: "open",
      GSI2PK: taskKeys.assigneePk(tenant, due.ownerId),
    });
    expect(tx!.some((i) => i.Put?.Item?.entity === "task-ref")).toBe(true);
    expect(tx!.some((i) => i.ConditionCheck?.Key?.SK === "PROFILE")).toBe(true);
    const note = tx!.find((i) => i.Put?.Item?.entity === "notification")!.Put!.Item!;
    expect(note).toMatchObject({ PK: reminderKeys.inboxPk(tenant, due.ownerId), taskId: task.id, read: false });

    const state = ddbMock
      .commandCalls(UpdateCommand)
      .map((c) => c.args[0].input as UpdateCommandInput)
      .find((u) => u.Key?.SK === reminderKeys.stateSk(RULE_ID))!;
    expect(state.ExpressionAttributeValues![":st"]).toEqual({ watermark: "2026-05-16T16:00:00.000Z" });
    expect(state.ConditionExpression).toBe("attribute_not_exists(#rev)");
  });

  it("counts a period whose guard exists as already fired, and moves on", async () => {
    const tenant = aTenant();
    const due = aCustomerItem(tenant, { level: "A", createdAt: "2026-04-01T00:00:00.000Z" });
    setUp(tenant, [due]);
    ddbMock
      .on(TransactWriteCommand)
      .callsFake((input: TransactWriteCommandInput) =>
        cancelWhere(input, (i) => i.Put?.Item?.entity === "reminder-fired"),
      );

    const result = await runTenantTick(tenant, { now: NOW });

    expect(result).toMatchObject({ status: "done", fired: 0, already: 1 });
  });

  it("fires nothing and reads no range when the cutoff has not moved past the watermark", async () => {
    const tenant = aTenant();
    setUp(tenant, [aCustomerItem(tenant, { level: "A", createdAt: "2026-04-01T00:00:00.000Z" })]);
    ddbMock
      .on(GetCommand, { Key: { PK: reminderKeys.rulesPk(tenant), SK: reminderKeys.stateSk(RULE_ID) } })
      .resolves({ Item: { rev: 3, state: { watermark: "2026-05-16T16:00:00.000Z" } } });

    const result = await runTenantTick(tenant, { now: NOW });

    expect(result.fired).toBe(0);
    expect(
      ddbMock.commandCalls(QueryCommand).some((c) => (c.args[0].input as QueryCommandInput).IndexName === "GSI3"),
    ).toBe(false);
  });
});
