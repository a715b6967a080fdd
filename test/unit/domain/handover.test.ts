// Unit tests for the handover against a mocked DynamoDB: who may start one, the job it creates and queues, and how the
// runner moves, retries and skips customers (with a hand-made JobRun, so only the handover's own logic is under test).
import { taskKeys } from "../../../shared/domain/tasks/keys.ts";
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { GuardedItem } from "../../../shared/db/transact.ts";
import { customerKeys } from "../../../shared/domain/customers/keys.ts";
import type { CustomerItem } from "../../../shared/domain/customers/repository.ts";
import { jobKeys } from "../../../shared/domain/jobs/keys.ts";
import type { JobRun } from "../../../shared/domain/jobs/runner.ts";
import type { JobItem } from "../../../shared/domain/jobs/schemas.ts";
import { runHandover, startHandover } from "../../../shared/domain/org/handover.ts";
import { orgKeys } from "../../../shared/domain/org/keys.ts";
import { ForbiddenError, ValidationError } from "../../../shared/http/errors.ts";
import { aCaller, aCustomerItem, aTenant, cancelWhere, type TransactItem } from "./support/builders.ts";
import { setsOf } from "./support/expressions.ts";

const ddbMock = mockClient(DynamoDBDocumentClient);
const FROM = "u-alice";
const TO = "u-bob";

const transactions = (): TransactItem[][] =>
  ddbMock.commandCalls(TransactWriteCommand).map((c) => (c.args[0].input as TransactWriteCommandInput).TransactItems!);
const customerUpdate = (items: TransactItem[]) => items.find((i) => i.Update?.Key?.SK === "PROFILE")!.Update!;

beforeEach(() => {
  ddbMock.reset();
  ddbMock.on(BatchGetCommand).resolves({ Responses: {} });
  ddbMock.on(GetCommand).resolves({});
  ddbMock.on(TransactWriteCommand).resolves({});
});

describe("starting a handover", () => {
  it("is for admins only: a sales user gets 403 before anything is read or written", async () => {
    const send = vi.fn(async () => undefined);
    await expect(
      startHandover(aCaller({ roles: ["sales"] }), FROM, { toUserId: TO }, "r", send),
    ).rejects.toBeInstanceOf(ForbiddenError);
    expect(ddbMock.commandCalls(QueryCommand)).toHaveLength(0);
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect(send).not.toHaveBeenCalled();
  });

  it("refuses a handover to the same user (400 on toUserId)", async () => {
    const err = await startHandover(aCaller(), FROM, { toUserId: FROM }, "r", async () => undefined).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).errors).toEqual([{ path: "toUserId", message: expect.any(String) }]);
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it("counts the from-user's customers and open tasks, stores an audited queued job and queues it", async () => {
    const caller = aCaller();
    ddbMock
      .on(QueryCommand)
      .resolvesOnce({ Count: 30, LastEvaluatedKey: { PK: "x" } })
      .resolvesOnce({ Count: 12 })
      .resolvesOnce({ Count: 3 });
    const send = vi.fn(async () => undefined);

    const { jobId } = await startHandover(caller, FROM, { toUserId: TO }, "req-9", send);

    const queries = ddbMock.commandCalls(QueryCommand).map((c) => c.args[0].input as QueryCommandInput);
    expect(queries).toHaveLength(3);
    expect(queries[2]).toMatchObject({
      IndexName: "GSI2",
      Select: "COUNT",
      ExpressionAttributeValues: { ":pk": taskKeys.assigneePk(caller.tenant, FROM), ":open": "open#" },
    });
    expect(queries[0]).toMatchObject({
      IndexName: "GSI2",
      Select: "COUNT",
      ExpressionAttributeValues: { ":pk": customerKeys.ownerPk(caller.tenant, FROM) },
    });
    expect(queries[1]!.ExclusiveStartKey).toEqual({ PK: "x" });
    const [tx] = transactions();
    const job = tx!.find((i) => i.Put?.Item?.entity === "job")!.Put!;
    expect(job.Item).toMatchObject({
      PK: jobKeys.pk(caller.tenant, jobId),
      SK: "JOB",
      id: jobId,
      type: "handover",
      status: "queued",
      total: 45,
      processed: 0,
      percent: 0,
      counts: { moved: 0, skipped: 0, failed: 0 },
      params: { fromUserId: FROM, toUserId: TO },
      createdBy: caller.userId,
    });
    expect(job.ConditionExpression).toBe("attribute_not_exists(PK)");
    const audit = tx!.find((i) => i.Put?.Item?.entity === "audit")!.Put!;
    expect(audit.Item).toMatchObject({ action: "create", entityType: "job", entityId: jobId, requestId: "req-9" });
    expect(send).toHaveBeenCalledWith({ jobId, tenant: caller.tenant });
  });

  it("marks the job failed at once when its message cannot be sent", async () => {
    ddbMock.on(QueryCommand).resolves({ Count: 3 });
    ddbMock.on(UpdateCommand).resolves({});
    const send = vi.fn(async () => {
      throw new Error("sqs is down");
    });
    await expect(startHandover(aCaller(), FROM, { toUserId: TO }, "r", send)).rejects.toThrow("sqs is down");
    const fail = ddbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(setsOf(fail)).toMatchObject({ status: "failed" });
  });
});

describe("the handover runner", () => {
  let tenant: string;
  let outcomes: { itemId: string; counter: string; error?: string }[];
  let extrasSeen: GuardedItem[][];

  /** A JobRun that records outcomes in memory and passes marker stand-ins to the item's write. */
  function aRun(opts: { timeIsShort?: () => boolean } = {}): JobRun {
    const job = {
      id: "01JOB0000000000000000000AB",
      type: "handover",
      status: "running",
      createdBy: "u-admin",
      params: { fromUserId: FROM, toUserId: TO },
      total: 2,
      processed: 0,
      percent: 0,
      counts: {},
      errors: [],
      createdAt: "2026-01-01T00:00:00.000Z",
      updatedAt: "2026-01-01T00:00:00.000Z",
      version: 2,
    } satisfies JobItem;
    return {
      tenant,
      job,
      timeIsShort: opts.timeIsShort ?? (() => false),
      saveCursor: async () => {},
      record: async (o, write) => {
        const marker: GuardedItem = { item: { ConditionCheck: { TableName: "t", Key: {}, ConditionExpression: "x" } } };
        if (write) {
          await write([marker]);
          extrasSeen.push([marker]);
        }
        outcomes.push({ itemId: o.itemId, counter: o.counter, ...(o.error ? { error: o.error } : {}) });
        return "recorded";
      },
      checkpoint: async () => undefined,
    };
  }

  const customer = (overrides: Partial<CustomerItem> = {}) =>
    aCustomerItem(tenant, { ownerId: FROM, deptId: "west", deptPath: "/west/", ...overrides });
  const onCustomerRead = (item: CustomerItem) =>
    ddbMock.on(GetCommand, { Key: { PK: customerKeys.pk(tenant, item.id), SK: "PROFILE" } }).resolves({ Item: item });
  const failFor = (id: string) => (input: TransactWriteCommandInput) =>
    cancelWhere(input, (i) => i.Update?.Key?.PK === customerKeys.pk(tenant, id));

  beforeEach(() => {
    tenant = aTenant();
    outcomes = [];
    extrasSeen = [];
  });

  it("moves each customer to the to-user and their department, with version + 1 and an audit entry", async () => {
    const [c1, c2] = [customer({ version: 4 }), customer({ version: 1 })];
    ddbMock
      .on(QueryCommand)
      .resolvesOnce({ Items: [c1, c2] })
      .resolves({ Items: [] });
    ddbMock
      .on(GetCommand, { Key: { PK: orgKeys.userPk(tenant, TO), SK: "USER" } })
      .resolves({ Item: { id: TO, deptId: "east", deptPath: "/east/", roles: ["sales"], entity: "user" } });

    expect(await runHandover(aRun())).toBe("done");

    expect(outcomes).toEqual([
      { itemId: c1.id, counter: "moved" },
      { itemId: c2.id, counter: "moved" },
    ]);
    const [tx1] = transactions();
    const update = customerUpdate(tx1!);
    expect(update.ConditionExpression).toContain("version = :expected");
    expect(update.ExpressionAttributeValues![":expected"]).toBe(4);
    expect(setsOf(update)).toMatchObject({
      ownerId: TO,
      deptId: "east",
      deptPath: "/east/",
      version: 5,
      updatedBy: "u-admin",
      GSI2PK: customerKeys.ownerPk(tenant, TO),
    });
    const audit = tx1!.find((i) => i.Put?.Item?.entity === "audit")!.Put!.Item!;
    expect(audit).toMatchObject({
      action: "update",
      actor: "u-admin",
      entityType: "customer",
      entityId: c1.id,
      requestId: "01JOB0000000000000000000AB",
    });
    expect(audit.changes).toEqual(["deptId", "deptPath", "ownerId"]);
    expect(tx1!.some((i) => i.ConditionCheck)).toBe(true); // the job's items ride in the same transaction
    // A second pass from the top finds nothing left, and the open-tasks step finds none: done. (Other Queries are
    // the reclassification's config reads.)
    const ownerIndexReads = ddbMock.commandCalls(QueryCommand).filter((c) => c.args[0].input.IndexName === "GSI2");
    expect(ownerIndexReads).toHaveLength(3);
  });

  it("keeps a customer's department when the to-user has no record", async () => {
    const c = customer();
    ddbMock
      .on(QueryCommand)
      .resolvesOnce({ Items: [c] })
      .resolves({ Items: [] });
    await runHandover(aRun());
    const sets = setsOf(customerUpdate(transactions()[0]!));
    expect(sets.ownerId).toBe(TO);
    expect(sets).not.toHaveProperty("deptPath");
    expect(sets).not.toHaveProperty("deptId");
  });

  it("retries on the new version when the customer was edited meanwhile but is still the from-user's", async () => {
    const stale = customer({ version: 1 });
    ddbMock
      .on(QueryCommand)
      .resolvesOnce({ Items: [stale] })
      .resolves({ Items: [] });
    onCustomerRead({ ...stale, version: 2, level: "VIP" });
    ddbMock.on(TransactWriteCommand).callsFakeOnce(failFor(stale.id)).resolves({});

    await runHandover(aRun());

    expect(outcomes).toEqual([{ itemId: stale.id, counter: "moved" }]);
    const [first, second] = transactions();
    expect(customerUpdate(first!).ExpressionAttributeValues![":expected"]).toBe(1);
    expect(customerUpdate(second!).ExpressionAttributeValues![":expected"]).toBe(2);
    expect(setsOf(customerUpdate(second!))).toMatchObject({ version: 3, ownerId: TO });
    expect(setsOf(customerUpdate(second!))).not.toHaveProperty("level"); // the edit is not overwritten
  });

  it("skips (and counts) a customer someone else now owns, and one deleted meanwhile", async () => {
    const [taken, binned] = [customer(), customer()];
    ddbMock
      .on(QueryCommand)
      .resolvesOnce({ Items: [taken, binned] })
      .resolves({ Items: [] });
    onCustomerRead({ ...taken, ownerId: "u-carol", version: taken.version + 1 });
    onCustomerRead({ ...binned, deletedAt: "2026-02-02T00:00:00.000Z", version: binned.version + 1 });
    ddbMock.on(TransactWriteCommand).callsFake((input: TransactWriteCommandInput) => cancelWhere(input, () => true));

    await runHandover(aRun());

    expect(outcomes).toEqual([
      { itemId: taken.id, counter: "skipped" },
      { itemId: binned.id, counter: "skipped" },
    ]);
  });

  it("counts a customer as failed (with a reason) when it keeps changing", async () => {
    const busy = customer();
    ddbMock
      .on(QueryCommand)
      .resolvesOnce({ Items: [busy] })
      .resolves({ Items: [] });
    onCustomerRead(busy);
    ddbMock.on(TransactWriteCommand).callsFake((input: TransactWriteCommandInput) => cancelWhere(input, () => true));

    await runHandover(aRun());

    expect(outcomes).toEqual([{ itemId: busy.id, counter: "failed", error: expect.stringContaining("hand it over") }]);
  });

  it("pauses when the time is short, after handling at least one customer", async () => {
    const [c1, c2] = [customer(), customer()];
    ddbMock.on(QueryCommand).resolves({ Items: [c1, c2] });
    expect(await runHandover(aRun({ timeIsShort: () => true }))).toBe("paused");
    expect(outcomes).toEqual([{ itemId: c1.id, counter: "moved" }]);
  });

  it("lets unexpected errors through (the message is retried)", async () => {
    ddbMock.on(QueryCommand).resolves({ Items: [customer()] });
    ddbMock.on(TransactWriteCommand).rejects(new Error("throttled"));
    await expect(runHandover(aRun())).rejects.toThrow("throttled");
  });
});
