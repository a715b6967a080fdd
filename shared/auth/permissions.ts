// What each role may do, and the data scope it has when its user record names none. One table, read everywhere.
import type { Role } from "./claims.ts";

export const DATA_SCOPES = ["own", "dept", "dept_tree", "all"] as const;
export type DataScope = (typeof DATA_SCOPES)[number];

export interface Permissions {
  /** Create, change and delete customers and contacts. */
  write: boolean;
  /** See phone, mobile, fax, e-mail, USCC and credit limit unmasked (and change them). */
  viewSensitive: boolean;
  /** Manage departments, users and tenant settings; hand customers over; verify the audit chain. */
  admin: boolean;
}

/** The role x action table (the README shows the same). */
export const ROLE_PERMISSIONS: Record<Role, Permissions & { defaultScope: DataScope }> = {
  admin: { write: true, viewSensitive: true, admin: true, defaultScope: "all" },
  manager: { write: true, viewSensitive: true, admin: false, defaultScope: "dept_tree" },
  sales: { write: true, viewSensitive: true, admin: false, defaultScope: "own" },
  service: { write: true, viewSensitive: false, admin: false, defaultScope: "dept" },
  viewer: { write: false, viewSensitive: false, admin: false, defaultScope: "dept" },
};

const SCOPE_RANK: Record<DataScope, number> = { own: 0, dept: 1, dept_tree: 2, all: 3 };

/** The union of the roles' permissions; the widest default scope among them. */
export function permissionsOf(roles: readonly Role[]): Permissions & { defaultScope: DataScope } {
  const out = { write: false, viewSensitive: false, admin: false, defaultScope: "own" as DataScope };
  for (const r of roles) {
    const p = ROLE_PERMISSIONS[r];
    out.write ||= p.write;
    out.viewSensitive ||= p.viewSensitive;
    out.admin ||= p.admin;
    if (SCOPE_RANK[p.defaultScope] > SCOPE_RANK[out.defaultScope]) out.defaultScope = p.defaultScope;
  }
  return out;
}
