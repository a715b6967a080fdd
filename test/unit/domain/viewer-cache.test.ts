// The viewer cache: within VIEWER_CACHE_MS a viewer costs no request, a write of a user or department through this
// instance is seen at once, and after the TTL the records are read again.
import { BatchGetCommand, DynamoDBDocumentClient, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { env } from "../../../shared/config/env.ts";
import { orgKeys } from "../../../shared/domain/org/keys.ts";
import { putDepartment, putUserRecord } from "../../../shared/domain/org/repository.ts";
import type { User } from "../../../shared/domain/org/schemas.ts";
import { invalidateViewers } from "../../../shared/domain/org/viewer-cache.ts";
import { resolveViewer, resolveViewerWith } from "../../../shared/domain/org/viewer.ts";

const ddbMock = mockClient(DynamoDBDocumentClient);
const TABLE = process.env.TABLE_NAME!;
const caller = { tenant: "acme", userId: "u1", roles: ["admin" as const], dept: "hq" };
const user = (dataScope: string, version: number) => ({
  PK: orgKeys.userPk("acme", "u1"),
  SK: orgKeys.userSk(),
  entity: "user",
  id: "u1",
  roles: ["sales"],
  deptId: "east",
  deptPath: "/hq/east/",
  dataScope,
  version,
});
const reads = () => ddbMock.commandCalls(BatchGetCommand).length;

beforeEach(() => {
  ddbMock.reset();
  invalidateViewers();
  env.VIEWER_CACHE_MS = 1000;
});
afterEach(() => {
  vi.useRealTimers();
  env.VIEWER_CACHE_MS = 0;
});

describe("viewer cache", () => {
  it("reads the user's records once within the TTL and again after it", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    ddbMock.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [user("own", 1)] } });
    expect((await resolveViewer(caller)).scope).toBe("own");
    expect((await resolveViewer(caller)).scope).toBe("own");
    expect(reads()).toBe(1);
    ddbMock.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [user("dept", 2)] } });
    vi.advanceTimersByTime(999);
    expect((await resolveViewer(caller)).scope).toBe("own");
    vi.advanceTimersByTime(1);
    expect((await resolveViewer(caller)).scope).toBe("dept");
    expect(reads()).toBe(2);
  });

  it("sees a change of the user's record made through this instance at once", async () => {
    ddbMock.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [user("all", 1)] } });
    ddbMock.on(TransactWriteCommand).resolves({});
    expect((await resolveViewer(caller)).scope).toBe("all");
    ddbMock.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [user("own", 2)] } });
    const { PK: _p, SK: _s, entity: _e, ...record } = user("own", 2);
    await putUserRecord("acme", record as unknown as User, 1, []);
    expect((await resolveViewer(caller)).scope).toBe("own");
    expect(reads()).toBe(2);
  });

  it("is cleared by a department write even when the transaction fails", async () => {
    ddbMock.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [user("all", 1)] } });
    ddbMock.on(TransactWriteCommand).rejects(new Error("timed out"));
    await resolveViewer(caller);
    const dept = { id: "east", name: "East", path: "/hq/east/", version: 2 };
    await expect(putDepartment("acme", dept as never, 1, [])).rejects.toThrow();
    await resolveViewer(caller);
    expect(reads()).toBe(2);
  });

  it("does not keep what a read returned when a write landed while it was in flight", async () => {
    let release!: () => void;
    ddbMock.on(BatchGetCommand).callsFakeOnce(
      () =>
        new Promise((resolve) => {
          release = () => resolve({ Responses: { [TABLE]: [user("all", 1)] } });
        }),
    );
    const inFlight = resolveViewer(caller);
    await vi.waitFor(() => expect(release).toBeDefined());
    invalidateViewers(); // a write of the user record committed meanwhile
    release();
    expect((await inFlight).scope).toBe("all");
    ddbMock.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [user("own", 2)] } });
    expect((await resolveViewer(caller)).scope).toBe("own");
    expect(reads()).toBe(2);
  });

  it("keeps the records apart per tenant and user", async () => {
    ddbMock.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [user("own", 1)] } });
    await resolveViewer(caller);
    ddbMock.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [] } });
    const other = await resolveViewer({ ...caller, tenant: "globex" });
    expect(other.roles).toEqual(["admin"]);
    expect(other.scope).toBe("all");
    expect(reads()).toBe(2);
  });

  it("is filled by a read that also fetched a record, and not used when it is off", async () => {
    ddbMock.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [user("own", 1)] } });
    await resolveViewerWith(caller, [{ PK: "T#acme#CUST#c1", SK: "PROFILE" }]);
    await resolveViewer(caller);
    expect(reads()).toBe(1);
    env.VIEWER_CACHE_MS = 0;
    await resolveViewer(caller);
    expect(reads()).toBe(2);
  });
});
