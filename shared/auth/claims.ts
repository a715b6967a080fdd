// The caller, read from the JWT claims API Gateway's authorizer verified; roles decide what the caller may do.
import { ForbiddenError, UnauthorizedError } from "../http/errors.ts";

export const ROLES = ["admin", "manager", "sales", "service", "viewer"] as const;
export type Role = (typeof ROLES)[number];

/** The authenticated user of a request. The tenant only ever comes from here, never from a body or path. */
export interface Caller {
  tenant: string;
  userId: string;
  roles: Role[];
  dept: string | undefined;
}

type ClaimValue = string | number | boolean | string[] | undefined;
export type Claims = Record<string, ClaimValue>;

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;

/**
 * Claim values arrive as API Gateway passes them: arrays become strings such as "[admin sales]".
 * Accepts real arrays, that bracket form, JSON arrays and comma lists.
 */
export function claimList(value: ClaimValue): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.map(String);
  const s = String(value).trim();
  if (s.startsWith("[") && s.endsWith("]")) {
    try {
      const parsed: unknown = JSON.parse(s);
      if (Array.isArray(parsed)) return parsed.map(String);
    } catch {
      /* API Gateway's "[a b]" form is not JSON */
    }
    return s
      .slice(1, -1)
      .split(/[\s,]+/)
      .filter(Boolean);
  }
  return s.split(/[\s,]+/).filter(Boolean);
}

function first(claims: Claims, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = claims[n];
    if (v !== undefined && v !== null && String(v) !== "") return String(v);
  }
  return undefined;
}

/** Builds the caller from verified claims; plain `tenant`/`roles`/`dept` or Cognito's `custom:` and `cognito:groups`. */
export function callerFromClaims(claims: Claims | undefined): Caller {
  if (!claims) throw new UnauthorizedError("missing token");
  const tenant = first(claims, "tenant", "custom:tenant");
  const userId = first(claims, "sub");
  if (!tenant || !ID_PATTERN.test(tenant)) throw new UnauthorizedError("token has no valid tenant claim");
  if (!userId || !ID_PATTERN.test(userId)) throw new UnauthorizedError("token has no valid sub claim");
  const rawRoles = claimList(claims.roles ?? claims["custom:roles"] ?? claims["cognito:groups"]);
  const roles = rawRoles.filter((r): r is Role => (ROLES as readonly string[]).includes(r));
  const dept = first(claims, "dept", "custom:dept");
  return { tenant, userId, roles, dept: dept && ID_PATTERN.test(dept) ? dept : undefined };
}

/** True when any of the caller's roles may change data (every role but viewer). */
export function canWrite(caller: Caller): boolean {
  return caller.roles.some((r) => r !== "viewer");
}

/** Throws 403 unless the caller may write. */
export function requireWriter(caller: Caller): void {
  if (!canWrite(caller)) throw new ForbiddenError("your role may read but not change data");
}

/** Throws 403 unless the caller may read at all (has any known role). */
export function requireReader(caller: Caller): void {
  if (caller.roles.length === 0) throw new ForbiddenError("your token carries no known role");
}
