// Organisation use cases: the department tree and users' role, department and data scope (admins manage them).
// adapter --> (use case) --> domain & repositories
import type { Caller } from "../../auth/claims.ts";
import { permissionsOf } from "../../auth/permissions.ts";
import { newId } from "../../db/ids.ts";
import { NotFoundError, ValidationError } from "../../http/errors.ts";
import { auditPut } from "../audit/audit.ts";
import { childPath } from "./keys.ts";
import { getDepartment, getUserRecord, listDepartments, putDepartment, putUserRecord } from "./repository.ts";
import type { Department, User } from "./schemas.ts";
import { requireAdmin, resolveViewer } from "./viewer.ts";

const MAX_DEPTH = 12;

export async function departmentTree(caller: Caller) {
  await resolveViewer(caller);
  const items = await listDepartments(caller.tenant);
  return { items, nextCursor: null };
}

export async function createDepartment(
  caller: Caller,
  input: { id?: string | undefined; name: string; parentId?: string | undefined },
  requestId?: string,
): Promise<Department> {
  requireAdmin(await resolveViewer(caller));
  const id = input.id ?? newId();
  let parentPath: string | undefined;
  if (input.parentId) {
    const parent = await getDepartment(caller.tenant, input.parentId);
    if (!parent) {
      throw new ValidationError("request body is invalid", [{ path: "parentId", message: "no such department" }]);
    }
    parentPath = parent.path;
  }
  const path = childPath(parentPath, id);
  if (path.split("/").length - 2 > MAX_DEPTH) {
    throw new ValidationError("request body is invalid", [
      { path: "parentId", message: `departments nest at most ${MAX_DEPTH} deep` },
    ]);
  }
  const at = new Date().toISOString();
  const d: Department = {
    id,
    name: input.name,
    ...(input.parentId ? { parentId: input.parentId } : {}),
    path,
    version: 1,
    createdAt: at,
    updatedAt: at,
  };
  await putDepartment(caller.tenant, d, undefined, [
    auditPut(caller.tenant, {
      at,
      actor: caller.userId,
      action: "create",
      entityType: "department",
      entityId: id,
      before: null,
      after: { ...d },
      requestId,
    }),
  ]);
  return d;
}

/** Renames a department (its place in the tree, and so every path below it, stays). */
export async function renameDepartment(
  caller: Caller,
  id: string,
  name: string,
  expected: number,
  requestId?: string,
): Promise<Department> {
  requireAdmin(await resolveViewer(caller));
  const before = await getDepartment(caller.tenant, id);
  if (!before) throw new NotFoundError(`department ${id} not found`);
  const at = new Date().toISOString();
  const after: Department = { ...before, name, version: before.version + 1, updatedAt: at };
  await putDepartment(caller.tenant, after, expected, [
    auditPut(caller.tenant, {
      at,
      actor: caller.userId,
      action: "update",
      entityType: "department",
      entityId: id,
      before: { ...before },
      after: { ...after },
      requestId,
    }),
  ]);
  return after;
}

/** A user's record; without one, what the token and the role defaults give (for the caller themself). */
export async function getUser(caller: Caller, id: string): Promise<User> {
  const v = await resolveViewer(caller);
  if (id !== caller.userId) requireAdmin(v);
  const record = await getUserRecord(caller.tenant, id);
  if (record) return record;
  if (id !== caller.userId) throw new NotFoundError(`user ${id} has no record`);
  return {
    id,
    roles: v.roles,
    deptId: v.deptId ?? "",
    deptPath: v.deptPath ?? "",
    dataScope: v.scope,
    version: 0,
    implicit: true,
  };
}

/** Sets a user's roles, department and data scope; takes effect on the user's next request. */
export async function putUser(
  caller: Caller,
  id: string,
  input: {
    name?: string | undefined;
    roles: User["roles"];
    deptId: string;
    dataScope?: User["dataScope"] | undefined;
    managerId?: string | undefined;
  },
  expected: number,
  requestId?: string,
): Promise<User> {
  requireAdmin(await resolveViewer(caller));
  const dept = await getDepartment(caller.tenant, input.deptId);
  if (!dept) throw new ValidationError("request body is invalid", [{ path: "deptId", message: "no such department" }]);
  const before = await getUserRecord(caller.tenant, id);
  const at = new Date().toISOString();
  const after: User = {
    id,
    ...(input.name ? { name: input.name } : {}),
    roles: input.roles,
    deptId: dept.id,
    deptPath: dept.path,
    dataScope: input.dataScope ?? permissionsOf(input.roles).defaultScope,
    ...(input.managerId ? { managerId: input.managerId } : {}),
    version: (before?.version ?? 0) + 1,
    updatedAt: at,
    updatedBy: caller.userId,
  };
  await putUserRecord(caller.tenant, after, expected, [
    auditPut(caller.tenant, {
      at,
      actor: caller.userId,
      action: before ? "update" : "create",
      entityType: "user",
      entityId: id,
      before: before ? { ...before } : null,
      after: { ...after },
      requestId,
    }),
  ]);
  return after;
}
