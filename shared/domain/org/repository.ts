// DynamoDB access for departments and users.
import { BatchGetCommand, type BatchGetCommandOutput, GetCommand } from "@aws-sdk/lib-dynamodb";
import { env } from "../../config/env.ts";
import { ddb } from "../../db/client.ts";
import { queryAll } from "../../db/query.ts";
import { type GuardedItem, transact } from "../../db/transact.ts";
import { ConflictError } from "../../http/errors.ts";
import { orgKeys as K } from "./keys.ts";
import type { Department, User } from "./schemas.ts";
import { invalidateViewers } from "./viewer-cache.ts";

const table = () => env.TABLE_NAME;
const strip = <T>(item: Record<string, unknown>): T => {
  const { PK: _p, SK: _s, GSI1PK: _g, GSI1SK: _h, entity: _e, ...rest } = item;
  return rest as T;
};

export async function getDepartment(tenant: string, id: string): Promise<Department | undefined> {
  const res = await ddb.send(
    new GetCommand({ TableName: table(), Key: { PK: K.deptPk(tenant, id), SK: K.deptSk() }, ConsistentRead: true }),
  );
  return res.Item ? strip<Department>(res.Item) : undefined;
}

/** Every department of the tenant, in tree order. */
export async function listDepartments(tenant: string): Promise<Department[]> {
  const items = await queryAll({
    TableName: table(),
    IndexName: "GSI1",
    KeyConditionExpression: "GSI1PK = :pk",
    ExpressionAttributeValues: { ":pk": K.deptListPk(tenant) },
  });
  const out = items.map((i) => strip<Department>(i));
  return out;
}

/**
 * Writes a department or user record: a transaction after which the viewer cache is cleared whatever the outcome (a
 * timed-out transaction may still have committed).
 */
async function transactClearingViewers(items: GuardedItem[]): Promise<void> {
  try {
    await transact(items);
  } finally {
    invalidateViewers();
  }
}

export async function putDepartment(
  tenant: string,
  d: Department,
  expectedVersion: number | undefined,
  extras: GuardedItem[],
): Promise<void> {
  await transactClearingViewers([
    {
      item: {
        Put: {
          TableName: table(),
          Item: {
            PK: K.deptPk(tenant, d.id),
            SK: K.deptSk(),
            entity: "department",
            GSI1PK: K.deptListPk(tenant),
            GSI1SK: d.path,
            ...d,
          },
          ConditionExpression: expectedVersion === undefined ? "attribute_not_exists(PK)" : "version = :v",
          ExpressionAttributeValues: expectedVersion === undefined ? undefined : { ":v": expectedVersion },
        },
      },
      onConditionFailed: () =>
        expectedVersion === undefined
          ? new ConflictError(`department ${d.id} already exists`, [{ path: "id", message: "already exists" }])
          : new ConflictError(`department ${d.id} was changed meanwhile; read it again`),
    },
    ...extras,
  ]);
}

export async function getUserRecord(tenant: string, id: string): Promise<User | undefined> {
  const res = await ddb.send(
    new GetCommand({ TableName: table(), Key: { PK: K.userPk(tenant, id), SK: K.userSk() }, ConsistentRead: true }),
  );
  return res.Item ? strip<User>(res.Item) : undefined;
}

/**
 * The user record and a department record in one request (what every scoped request needs first), plus any `also`
 * items the request needs anyway (a customer profile), all strongly consistent. Unprocessed keys are retried: reading
 * "no record" for a record that exists would fall back to the token's (possibly wider) roles.
 */
export async function getUserAndDepartment(
  tenant: string,
  userId: string,
  deptId: string | undefined,
  also: { PK: string; SK: string }[] = [],
): Promise<{ user?: User; dept?: Department; also: Record<string, unknown>[] }> {
  const userKey = { PK: K.userPk(tenant, userId), SK: K.userSk() };
  const deptKey = deptId ? { PK: K.deptPk(tenant, deptId), SK: K.deptSk() } : undefined;
  let keys: Record<string, unknown>[] | undefined = [userKey, ...(deptKey ? [deptKey] : []), ...also];
  const items: Record<string, unknown>[] = [];
  for (let attempt = 0; keys?.length; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(500, 20 * 2 ** attempt)));
    if (attempt > 8) throw new Error("could not read the caller's user record");
    const res: BatchGetCommandOutput = await ddb.send(
      new BatchGetCommand({ RequestItems: { [table()]: { Keys: keys, ConsistentRead: true } } }),
    );
    items.push(...(res.Responses?.[table()] ?? []));
    keys = res.UnprocessedKeys?.[table()]?.Keys;
  }
  const at = (k: { PK: string; SK: string } | undefined) => k && items.find((i) => i.PK === k.PK && i.SK === k.SK);
  const user = at(userKey);
  const dept = at(deptKey);
  return {
    user: user ? strip<User>(user) : undefined,
    dept: dept ? strip<Department>(dept) : undefined,
    also: also.flatMap((k): Record<string, unknown>[] => {
      const i = at(k);
      return i ? [i] : [];
    }),
  };
}

export async function putUserRecord(
  tenant: string,
  u: User,
  expectedVersion: number,
  extras: GuardedItem[],
): Promise<void> {
  await transactClearingViewers([
    {
      item: {
        Put: {
          TableName: table(),
          Item: {
            PK: K.userPk(tenant, u.id),
            SK: K.userSk(),
            entity: "user",
            GSI1PK: K.userListPk(tenant),
            GSI1SK: `${u.deptPath}#${u.id}`,
            ...u,
          },
          ConditionExpression: expectedVersion === 0 ? "attribute_not_exists(PK)" : "version = :v",
          ExpressionAttributeValues: expectedVersion === 0 ? undefined : { ":v": expectedVersion },
        },
      },
      onConditionFailed: () => new ConflictError(`user ${u.id} was changed meanwhile; read it again`),
    },
    ...extras,
  ]);
}
