// Field-level masking: sensitive fields are shown masked to roles without the permission, the same on every path.

/** Fields masked on customers and contacts (creditLimit arrives with orders and credit checks). */
export const SENSITIVE_FIELDS = ["phone", "mobile", "fax", "email", "uscc", "creditLimit"] as const;
export type SensitiveField = (typeof SENSITIVE_FIELDS)[number];

/** The masked form of a value: enough to recognise it, not enough to use it. */
export function maskValue(field: string, value: unknown): unknown {
  if (value === undefined || value === null) return value;
  const s = String(value);
  switch (field) {
    case "email": {
      const at = s.indexOf("@");
      return at > 0 ? `${s[0]}***${s.slice(at)}` : "***";
    }
    case "uscc":
      return s.length > 8 ? `${s.slice(0, 4)}${"*".repeat(s.length - 8)}${s.slice(-4)}` : "****";
    case "creditLimit":
      return "***";
    default: {
      // phones: keep an area code or the first three digits, and the last four.
      const dash = s.indexOf("-");
      const head = dash > 0 && dash <= 5 ? s.slice(0, dash + 1) : s.slice(0, 3);
      return s.length > head.length + 4 ? `${head}****${s.slice(-4)}` : "****";
    }
  }
}

/** A copy of the record with its sensitive fields masked (unchanged when `visible`). */
export function maskRecord<T extends Record<string, unknown>>(record: T, visible: boolean): T {
  if (visible) return record;
  const out: Record<string, unknown> = { ...record };
  for (const f of SENSITIVE_FIELDS) if (out[f] !== undefined && out[f] !== null) out[f] = maskValue(f, out[f]);
  return out as T;
}

/** True when a value looks masked, so it can never be stored over a real one. */
export function looksMasked(value: unknown): boolean {
  return typeof value === "string" && value.includes("***");
}
