// The viewer: the caller with the data scope and permissions in force, from the user's record (so moving a user to
// another department changes what they see). A read of one record takes the record with the viewer's in one request;
// other paths use the records read within VIEWER_CACHE_MS on this instance (viewer-cache.ts), cleared by any write
// of a user or department here.
import type { Caller } from "../../auth/claims.ts";
import { type DataScope, type Permissions, permissionsOf } from "../../auth/permissions.ts";
import { ForbiddenError } from "../../http/errors.ts";
import type { Condition } from "../customers/filters.ts";
import { childPath } from "./keys.ts";
import { getUserAndDepartment } from "./repository.ts";
import { cachedViewerRecords, storeViewerRecords, viewerCacheGeneration } from "./viewer-cache.ts";

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
  const hit = cachedViewerRecords(caller.tenant, caller.userId, caller.dept);
  if (hit) return viewerOf(caller, hit.user, hit.dept);
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
  const generation = viewerCacheGeneration();
  const { user, dept, also } = await getUserAndDepartment(caller.tenant, caller.userId, caller.dept, keys);
  storeViewerRecords(caller.tenant, caller.userId, caller.dept, { user, dept }, generation);
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
