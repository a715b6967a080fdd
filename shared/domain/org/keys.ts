// Keys of departments and users: per-tenant items; departments also listed on one small partition (GSI1).

export const orgKeys = {
  deptPk: (tenant: string, id: string) => `T#${tenant}#DEPT#${id}`,
  deptSk: () => "DEPT",
  /** GSI1: a tenant's departments in tree order (by path). A tenant has hundreds, not millions. */
  deptListPk: (tenant: string) => `T#${tenant}#DEPTS`,
  userPk: (tenant: string, id: string) => `T#${tenant}#USER#${id}`,
  userSk: () => "USER",
  /** GSI1: a tenant's users by department path, so "who is in this subtree" is one Query. */
  userListPk: (tenant: string) => `T#${tenant}#USERS`,
};

/** A department's path: its ancestors' ids and its own, e.g. `/hq/east/sh/`. Ids contain no `/` or `#`. */
export function childPath(parentPath: string | undefined, id: string): string {
  return `${parentPath ?? "/"}${id}/`;
}
