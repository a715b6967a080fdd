// Unit tests for the interaction use cases: the one transaction of each write (interaction item, profile stats as
// UpdateItem ADD/SET on `stats` only, rollup cell, audit), lastInteractionAt moving only forward, role checks.
import {
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { customerKeys } from "../../../shared/domain/customers/keys.ts";
import { interactionKeys } from "../../../shared/domain/interactions/keys.ts";
import { InteractionCreateSchema, type Interaction } from "../../../shared/domain/interactions/schemas.ts";
import { createInteraction, patchInteraction } from "../../../shared/domain/interactions/service.ts";
import { aCaller, aCustomerItem, type TransactItem } from "./support/builders.ts";
import { addsOf, setsOf, touchedOf } from "./support/expressions.ts";
import { serveBatchGets } from "../../support/batch-get.ts";

const ddbMock = mockClient(DynamoDBDocumentClient);
/** Stores an item BatchGetItem serves (the viewer and the profile are read together). */
let serve: ReturnType<typeof serveBatchGets>;

beforeEach(() => {
  ddbMock.reset();
  serve = serveBatchGets(ddbMock);
  ddbMock.on(GetCommand).resolves({});
  ddbMock.on(TransactWriteCommand).resolves({});
});

const theTransaction = (): TransactItem[] => {
  const calls = ddbMock.commandCalls(TransactWriteCommand);
  expect(calls).toHaveLength(1);
  return (calls[0]!.args[0].input as TransactWriteCommandInput).TransactItems!;
};

function setUp(stats: Record<string, unknown>) {
  const caller = aCaller();
  const customer = aCustomerItem(caller.tenant, { ownerId: caller.userId, region: "330106", stats });
  ddbMock
    .on(GetCommand, { Key: { PK: customerKeys.pk(caller.tenant, customer.id), SK: customerKeys.profileSk() } })
    .resolves({ Item: customer });
  serve({ PK: customerKeys.pk(caller.tenant, customer.id), SK: customerKeys.profileSk() }, customer);
  const profile = (items: TransactItem[]) => items.find((i) => i.Update?.Key?.SK === customerKeys.profileSk())?.Update;
  const rollup = (items: TransactItem[]) => items.find((i) => String(i.Update?.Key?.PK).includes("#SATROLL#"))?.Update;
  return { caller, customer, profile, rollup };
}

describe("recording an interaction", () => {
  it("adds a survey to the stats and its rollup cell, and advances lastInteractionAt when later", async () => {
    const { caller, customer, profile, rollup } = setUp({
      contactCount: 1,
      lastInteractionAt: "2026-01-01T00:00:00.000Z",
    });
    const at = "2026-03-01T00:00:00.000Z";
    await createInteraction(
      caller,
      customer.id,
      InteractionCreateSchema.parse({ kind: "survey", score: 4, at }),
      undefined,
    );
    const items = theTransaction();
    const p = profile(items)!;
    expect(addsOf(p)).toEqual({ "stats.interactionCount": 1, "stats.surveyCount": 1, "stats.surveyScoreSum": 4 });
    // lastInteractionAt moves, and with it the profile's row in the activity index (reminders' inactivity).
    expect(p.UpdateExpression).toMatch(/^SET #st\.#li = :at, GSI3PK = :g3pk, GSI3SK = :g3sk ADD /);
    expect(p.ExpressionAttributeValues![":g3sk"]).toBe(
      `${at}#${p.Key!.SK === "PROFILE" ? String(p.Key!.PK).split("#").at(-1) : ""}`,
    );
    expect(p.ExpressionAttributeNames).toMatchObject({ "#st": "stats", "#li": "lastInteractionAt" });
    expect(p.ExpressionAttributeValues![":at"]).toBe(at);
    expect(touchedOf(p).every((t) => t.startsWith("stats.") || t.startsWith("GSI3"))).toBe(true);
    expect(p.ConditionExpression).toContain("attribute_not_exists(deletedAt)");
    expect(p.ConditionExpression).toContain("< :at");
    expect(items.some((i) => i.Put?.Item?.SK === customerKeys.profileSk())).toBe(false);
    expect(addsOf(rollup(items)!)).toMatchObject({ interactionCount: 1, surveyCount: 1, surveyScoreSum: 4 });
    expect(rollup(items)!.Key!.PK).toBe(interactionKeys.rollupPk(caller.tenant, "2026-03"));
    const put = items.find((i) => String(i.Put?.Item?.SK).startsWith(interactionKeys.prefix()))!.Put!;
    expect(put.Item).toMatchObject({ kind: "survey", score: 4, at, dims: { region: "330106", month: "2026-03" } });
  });

  it("leaves a later lastInteractionAt alone (conditional on it staying at least as late)", async () => {
    const { caller, customer, profile } = setUp({ lastInteractionAt: "2026-05-01T00:00:00.000Z" });
    const body = InteractionCreateSchema.parse({ kind: "complaint", at: "2026-03-01T00:00:00.000Z" });
    await createInteraction(caller, customer.id, body, undefined);
    const p = profile(theTransaction())!;
    expect(setsOf(p)).toEqual({});
    expect(addsOf(p)).toEqual({ "stats.interactionCount": 1, "stats.openComplaints": 1 });
    expect(p.ConditionExpression).toContain(">= :at");
  });

  it("refuses a viewer (403) before writing anything", async () => {
    const { caller, customer } = setUp({});
    const viewer = { ...caller, roles: ["viewer" as const] };
    const body = InteractionCreateSchema.parse({ kind: "call" });
    await expect(createInteraction(viewer, customer.id, body, undefined)).rejects.toMatchObject({ status: 403 });
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });
});

describe("resolving a complaint", () => {
  it("moves open -1 on the profile and open -1 / resolved +1 on the cell the complaint was counted in", async () => {
    const { caller, customer, profile, rollup } = setUp({ openComplaints: 1 });
    const dims = { month: "2026-02", deptPath: "/d1/", ownerId: caller.userId, region: "", industry: "", level: "" };
    const complaint: Interaction = {
      id: "01KAAAAAAAAAAAAAAAAAAAAAAA",
      customerId: customer.id,
      kind: "complaint",
      at: "2026-02-01T00:00:00.000Z",
      state: "open",
      version: 1,
      createdAt: "2026-02-01T00:00:00.000Z",
      updatedAt: "2026-02-01T00:00:00.000Z",
      createdBy: caller.userId,
      updatedBy: caller.userId,
    };
    ddbMock
      .on(GetCommand, {
        Key: { PK: customerKeys.pk(caller.tenant, customer.id), SK: interactionKeys.sk(complaint.id) },
      })
      .resolves({ Item: { ...complaint, entity: "interaction", dims } });
    const after = await patchInteraction(
      caller,
      customer.id,
      complaint.id,
      { state: "resolved", resolution: "退款" },
      1,
    );
    expect(after).toMatchObject({ state: "resolved", resolution: "退款", version: 2, resolvedBy: caller.userId });
    const items = theTransaction();
    expect(addsOf(profile(items)!)).toEqual({ "stats.openComplaints": -1 });
    expect(setsOf(profile(items)!)).toEqual({});
    expect(rollup(items)!.Key!.SK).toBe(interactionKeys.rollupSk(dims));
    expect(addsOf(rollup(items)!)).toMatchObject({ interactionCount: 0, openComplaints: -1, resolvedComplaints: 1 });
  });
});
