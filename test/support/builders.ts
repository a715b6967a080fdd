// Test data builders: callers and customers with unique, valid values (override what a test cares about).
import { randomUUID } from "node:crypto";
import type { Caller, Role } from "../../shared/auth/claims.ts";
import { usccCheckChar } from "../../shared/domain/validation/index.ts";

/** A fresh tenant id, so tests never see each other's data. */
export const aTenant = (prefix = "t") => `${prefix}-${randomUUID().slice(0, 8)}`;

export function aCaller(overrides: Partial<Caller> & { role?: Role } = {}): Caller {
  const { role, ...rest } = overrides;
  return { tenant: aTenant(), userId: "u-admin", roles: [role ?? "admin"], dept: "d1", ...rest };
}

let counter = 0;
/** A valid unified social credit code that no other test uses (region 330106, a running serial). */
export function aUscc(): string {
  counter++;
  const serial = `${process.pid % 1000}${Date.now() % 100000}${counter}`.padStart(9, "0").slice(-9);
  const first17 = `91330106${serial}`;
  return first17 + usccCheckChar(first17);
}

export function aCustomerInput(overrides: Record<string, unknown> = {}) {
  return { name: "杭州西湖贸易有限公司", type: "enterprise" as const, stage: "potential" as const, ...overrides };
}
