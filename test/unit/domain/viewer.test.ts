// The viewer: the user record an admin set wins over the token, and a throttled read never falls back to the token.
import { BatchGetCommand, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { orgKeys } from "../../../shared/domain/org/keys.ts";
import { canSee, resolveViewer } from "../../../shared/domain/org/viewer.ts";

const ddbMock = mockClient(DynamoDBDocumentClient);
const TABLE = process.env.TABLE_NAME!;
const caller = { tenant: "acme", userId: "u1", roles: ["admin" as const], dept: "hq" };
const record = {
  PK: orgKeys.userPk("acme", "u1"),
  SK: orgKeys.userSk(),
  entity: "user",
  id: "u1",
  roles: ["sales"],
  deptId: "east",
  deptPath: "/hq/east/",
  dataScope: "own",
  version: 3,
};

beforeEach(() => ddbMock.reset());

describe("resolveViewer", () => {
  it("takes role, department and scope from the user's record, not from the token", async () => {
    ddbMock.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [record] } });
    const v = await resolveViewer(caller);
    expect(v).toMatchObject({ roles: ["sales"], deptId: "east", deptPath: "/hq/east/", scope: "own" });
    expect(v.perms).toMatchObject({ admin: false, write: true, viewSensitive: true });
  });

  it("retries keys DynamoDB left unprocessed instead of treating the record as absent", async () => {
    ddbMock
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { [TABLE]: [] },
        UnprocessedKeys: { [TABLE]: { Keys: [{ PK: record.PK, SK: "USER" }] } },
      })
      .resolves({ Responses: { [TABLE]: [record] } });
    const v = await resolveViewer(caller);
    expect(v.roles).toEqual(["sales"]);
    expect(v.perms.admin).toBe(false);
    expect(ddbMock.commandCalls(BatchGetCommand)).toHaveLength(2);
  });

  it("uses the token's roles and the role's default scope when no record exists", async () => {
    ddbMock.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [] } });
    const v = await resolveViewer({ ...caller, roles: ["manager"] });
    expect(v).toMatchObject({ scope: "dept_tree", deptPath: "/hq/" });
  });

  it("narrows a department scope to `own` for a user without a department", async () => {
    ddbMock.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [] } });
    const v = await resolveViewer({ ...caller, roles: ["viewer"], dept: undefined });
    expect(v.scope).toBe("own");
    expect(canSee(v, { ownerId: "someone-else", deptPath: "/hq/" })).toBe(false);
  });
});

describe("canSee", () => {
  const base = { tenant: "acme", userId: "u1", roles: [], dept: "east", deptId: "east", deptPath: "/hq/east/" };
  const perms = { write: true, viewSensitive: true, admin: false };
  const c = (deptPath: string, ownerId = "u2") => ({ ownerId, deptPath });
  it.each([
    ["own", c("/hq/east/", "u1"), true],
    ["own", c("/hq/east/"), false],
    ["dept", c("/hq/east/"), true],
    ["dept", c("/hq/east/sh/"), false],
    ["dept_tree", c("/hq/east/sh/"), true],
    ["dept_tree", c("/hq/eastern/"), false],
    ["dept_tree", c("/hq/"), false],
    ["all", c("/elsewhere/"), true],
  ] as const)("scope %s on %j is %s", (scope, customer, want) => {
    expect(canSee({ ...base, scope, perms }, customer)).toBe(want);
  });
});
