// Which reminder rules make a bulk reclassification write re-plan markers, and the check that holds a group written
// without them to the rules it was decided from.
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  classificationReplan,
  ruleDeleteItems,
  ruleInsertItems,
  ruleReplaceItems,
} from "../../../shared/domain/reminders/repository.ts";
import type { ReminderRule } from "../../../shared/domain/reminders/schemas.ts";

const ddbMock = mockClient(DynamoDBDocumentClient);

beforeEach(() => ddbMock.reset());

/** A stored rule: inactivity trigger, with `when` and `enabled` as given. */
const rule = (id: string, when: unknown, enabled = true) => ({
  PK: "T#t1#REMRULES",
  SK: `RULE#${id}`,
  entity: "reminder-rule",
  id,
  name: id,
  ...(when ? { when } : {}),
  trigger: { type: "inactivity", days: 30 },
  assignee: "owner",
  channels: [{ type: "inbox" }],
  escalateAfterHours: 48,
  enabled,
  version: 1,
});

function stored(rules: Record<string, unknown>[], token?: string) {
  ddbMock.on(GetCommand).resolves(token ? { Item: { token } } : {});
  ddbMock.on(QueryCommand).resolves({ Items: rules });
}

describe("classificationReplan", () => {
  it.each([
    { name: "no rules", rules: [], markers: false },
    { name: "a rule without when", rules: [rule("r1", undefined)], markers: false },
    {
      name: "rules on fields and stats only",
      rules: [
        rule("r1", { field: "level", op: "eq", value: "A" }),
        rule("r2", {
          all: [
            { field: "stats.orderCount", op: "gt", value: 0 },
            { field: "region", op: "prefix", value: "31" },
          ],
        }),
      ],
      markers: false,
    },
    {
      name: "a disabled rule on a category",
      rules: [rule("r1", { field: "categories.tier", op: "eq", value: "A" }, false)],
      markers: false,
    },
    {
      name: "a rule on a category",
      rules: [rule("r1", { field: "categories.tier", op: "eq", value: "A" })],
      markers: true,
    },
    {
      name: "a category deep inside any/not",
      rules: [
        rule("r1", {
          any: [{ field: "level", op: "eq", value: "B" }, { not: { field: "categories.abc", op: "eq", value: "C" } }],
        }),
      ],
      markers: true,
    },
    {
      name: "a rule on the value score",
      rules: [rule("r1", { field: "valueScore", op: "gt", value: 80 })],
      markers: true,
    },
  ])("$name: markers $markers", async ({ rules, markers }) => {
    stored(rules, "tok-1");
    const replan = await classificationReplan("t1");
    expect(replan.markers).toBe(markers);
    // Without markers, the group carries a check that the token is still the one read.
    if (markers) expect(replan.check).toBeUndefined();
    else {
      expect(replan.check?.item.ConditionCheck).toMatchObject({
        Key: { PK: "T#t1#REMRULES", SK: "TOKEN" },
        ConditionExpression: "#t = :t",
        ExpressionAttributeValues: { ":t": "tok-1" },
      });
    }
  });

  it("checks that no rule was ever written when the tenant has no token yet", async () => {
    stored([]);
    const replan = await classificationReplan("t1");
    expect(replan.check?.item.ConditionCheck).toMatchObject({
      Key: { PK: "T#t1#REMRULES", SK: "TOKEN" },
      ConditionExpression: "attribute_not_exists(PK)",
    });
  });

  it("reads the token before the rules (a rule written in between moves the token, so the check fails)", async () => {
    stored([], "tok-1");
    await classificationReplan("t1");
    const order = ddbMock.calls().map((c) => c.args[0].constructor.name);
    expect(order).toEqual(["GetCommand", "QueryCommand"]);
    expect(ddbMock.commandCalls(GetCommand)[0]!.args[0].input).toMatchObject({ ConsistentRead: true });
    expect(ddbMock.commandCalls(QueryCommand)[0]!.args[0].input).toMatchObject({ ConsistentRead: true });
  });
});

describe("rule writes", () => {
  it("move the rules token in the rule's own transaction: create, replace and delete", () => {
    const r = rule("r1", undefined) as unknown as ReminderRule;
    const tokens = (items: { item: { Put?: { Item?: Record<string, unknown> } } }[]) =>
      items.filter((i) => i.item.Put?.Item?.SK === "TOKEN").map((i) => i.item.Put!.Item!.token);
    const all = [ruleInsertItems("t1", r), ruleReplaceItems("t1", r, 1, false), ruleDeleteItems("t1", "r1", 1)];
    const moved = all.map(tokens);
    for (const t of moved) expect(t).toEqual([expect.any(String)]);
    // A new value each time, so a reader's check fails after any of them.
    expect(new Set(moved.flat()).size).toBe(3);
  });
});
