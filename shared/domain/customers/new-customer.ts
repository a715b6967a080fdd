// A customer as it is first written, by the API's create and by an import: the same record either way.
import { counterKey, renderCode } from "../settings/code-pattern.ts";
import { nextSequence, type Settings } from "../settings/settings.ts";
import type { Customer, CustomerCreate } from "./schemas.ts";

/** The tenant's next automatic customer code: one number of its sequence, rendered with its pattern. */
export async function nextCustomerCode(tenant: string, settings: Settings, now: Date): Promise<string> {
  const { customerCodePattern: pattern, timeZone } = settings;
  const seq = await nextSequence(tenant, "CUSTCODE", counterKey(pattern, now, timeZone));
  return renderCode(pattern, now, timeZone, seq);
}

/**
 * The department fields a customer takes from whom it follows (its owner's user record, else the viewer): only those
 * that are set, so a write never sets one to nothing (a caller without a department keeps the customer's own).
 */
export function departmentFields(d: { deptId?: string; deptPath?: string }): { deptId?: string; deptPath?: string } {
  return { ...(d.deptId ? { deptId: d.deptId } : {}), ...(d.deptPath ? { deptPath: d.deptPath } : {}) };
}

/** A new customer: no categories or contacts yet, version 1, created and last updated by `by` at `at`. */
export function newCustomer(
  input: CustomerCreate,
  c: {
    id: string;
    code: string;
    ownerId: string;
    dept: { deptId?: string; deptPath?: string };
    at: string;
    by: string;
  },
): Customer {
  return {
    id: c.id,
    ...input,
    code: c.code,
    ownerId: c.ownerId,
    ...departmentFields(c.dept),
    categories: {},
    stats: { contactCount: 0 },
    version: 1,
    createdAt: c.at,
    updatedAt: c.at,
    createdBy: c.by,
    updatedBy: c.by,
  };
}
