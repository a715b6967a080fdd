// The viewer: the caller with the data scope and permissions in force right now, read from the user's record on
// every request (so moving a user to another department changes what they see at once).
import type { Caller } from "../../auth/claims.ts";
import { type DataScope, type Permissions, permissionsOf } from "../../auth/permissions.ts";
import { ForbiddenError } from "../../http/errors.ts";
import type { Condition } from "../customers/filters.ts";
import { childPath } from "./keys.ts";
import { getUserAndDepartment } from "./repository.ts";

export interface Viewer extends Caller {
  deptId: string | undefined;
  /** Path of the viewer's department, e.g. `/hq/east/`. */
  deptPath: string | undefined;
  scope: DataScope;
  perms: Permissions;
}

/** What decides who may see a customer: its owner and its department. */
export interface Owned {
  ownerId: string;
  deptId?: string | undefined;
  deptPath?: string | undefined;
}

/**
 * The caller's user record (role, department, scope set by an admin) wins over the token's claims; without a record,
 * the token's roles and department apply with the role's default scope. A scope that needs a department falls back to
 * `own` when the user has none.
 */
export async function resolveViewer(caller: Caller): Promise<Viewer> {
  return (await resolveViewerWith(caller, [])).viewer;
}

/**
 * The viewer, and the items at `keys` read in the same request (strongly consistent; absent ones left out): a read
 * of one record costs one DynamoDB request with the permissions it needs.
 */
export async function resolveViewerWith(
  caller: Caller,
  keys: { PK: string; SK: string }[],
): Promise<{ viewer: Viewer; items: Record<string, unknown>[] }> {
  const { user, dept, also } = await getUserAndDepartment(caller.tenant, caller.userId, caller.dept, keys);
  return { viewer: viewerOf(caller, user, dept), items: also };
}

function viewerOf(
  caller: Caller,
  user: Awaited<ReturnType<typeof getUserAndDepartment>>["user"],
  dept: Awaited<ReturnType<typeof getUserAndDepartment>>["dept"],
): Viewer {
  const roles = user?.roles ?? caller.roles;
  const perms = permissionsOf(roles);
  const deptId = user?.deptId ?? caller.dept;
  const deptPath = user?.deptPath ?? dept?.path ?? (deptId ? childPath(undefined, deptId) : undefined);
  let scope: DataScope = user?.dataScope ?? perms.defaultScope;
  if ((scope === "dept" || scope === "dept_tree") && !deptPath) scope = "own";
  return { ...caller, roles, dept: deptId, deptId, deptPath, scope, perms };
}

/** True when the viewer's data scope covers the record. */
export function canSee(v: Viewer, c: Owned): boolean {
  switch (v.scope) {
    case "all":
      return true;
    case "own":
      return c.ownerId === v.userId;
    case "dept":
      return !!c.deptPath && c.deptPath === v.deptPath;
    case "dept_tree":
      return !!c.deptPath && !!v.deptPath && c.deptPath.startsWith(v.deptPath);
  }
}

/** The scope as list conditions (for paths that filter rather than query a scope index). */
export function scopeConditions(v: Viewer): Condition[] {
  switch (v.scope) {
    case "all":
      return [];
    case "own":
      return [{ path: ["ownerId"], op: "eq", value: v.userId }];
    case "dept":
      return [{ path: ["deptPath"], op: "eq", value: v.deptPath! }];
    case "dept_tree":
      return [{ path: ["deptPath"], op: "prefix", value: v.deptPath! }];
  }
}

export function requireWrite(v: Viewer): void {
  if (!v.perms.write) throw new ForbiddenError("your role may read but not change data");
}

export function requireAdmin(v: Viewer): void {
  if (!v.perms.admin) throw new ForbiddenError("only an admin may do this");
}
