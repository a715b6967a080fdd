// Writes of sensitive fields: a masked value never overwrites a real one, and roles that only see masked values
// may fill a blank field but not change or clear a real one.
import { ForbiddenError, ValidationError } from "../../http/errors.ts";
import { looksMasked, maskValue, SENSITIVE_FIELDS } from "./masking.ts";
import type { Viewer } from "./viewer.ts";

/**
 * Checks a change against the stored record and returns it without the fields that only echo their masked value back
 * (a form sent back whole). `before` is undefined for creates.
 */
export function guardSensitive<T extends Record<string, unknown>>(
  v: Viewer,
  change: T,
  before: Record<string, unknown> | undefined,
): T {
  const out: Record<string, unknown> = { ...change };
  for (const f of SENSITIVE_FIELDS) {
    if (!(f in out) || out[f] === undefined) continue;
    const value = out[f];
    const current = before?.[f];
    if (looksMasked(value)) {
      if (current !== undefined && value === maskValue(f, current)) {
        delete out[f];
        continue;
      }
      throw new ValidationError("request body is invalid", [{ path: f, message: "a masked value cannot be stored" }]);
    }
    if (!v.perms.viewSensitive && current !== undefined && current !== null) {
      throw new ForbiddenError(`your role may not change ${f}`);
    }
  }
  return out as T;
}
