// List filters defined once, applied either as a DynamoDB FilterExpression or in memory (after a search).
import type { Filter } from "../../db/sharded.ts";
import type { CustomerListQuery } from "./schemas.ts";

export interface Condition {
  path: string[];
  op: "eq" | "prefix";
  value: string;
}

/** "330100" -> "3301": a region filter matches the code and every region under it. */
export function regionPrefix(code: string): string {
  let p = code;
  while (p.length > 2 && p.endsWith("00")) p = p.slice(0, -2);
  return p;
}

/** The conditions a list query asks for (except `q`, `owner` when used as the key, and `deleted`). */
export function conditionsOf(q: CustomerListQuery, ownerIsKey: boolean): Condition[] {
  const out: Condition[] = [];
  if (q.industry) out.push({ path: ["industry"], op: "eq", value: q.industry });
  if (q.region) out.push({ path: ["region"], op: "prefix", value: regionPrefix(q.region) });
  if (q.level) out.push({ path: ["level"], op: "eq", value: q.level });
  if (q.type) out.push({ path: ["type"], op: "eq", value: q.type });
  if (q.stage) out.push({ path: ["stage"], op: "eq", value: q.stage });
  if (q.owner && !ownerIsKey) out.push({ path: ["ownerId"], op: "eq", value: q.owner });
  if (q.category) {
    const i = q.category.indexOf(":");
    out.push({ path: ["categories", q.category.slice(0, i)], op: "eq", value: q.category.slice(i + 1) });
  }
  return out;
}

/** The same conditions as a FilterExpression (AND), or undefined when there are none. */
export function toFilterExpression(conds: Condition[]): Filter | undefined {
  if (!conds.length) return undefined;
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const parts = conds.map((c, i) => {
    const path = c.path
      .map((p, j) => {
        names[`#f${i}_${j}`] = p;
        return `#f${i}_${j}`;
      })
      .join(".");
    values[`:f${i}`] = c.value;
    return c.op === "eq" ? `${path} = :f${i}` : `begins_with(${path}, :f${i})`;
  });
  return { expression: parts.join(" AND "), names, values };
}

/** The same conditions as a predicate over a stored item. */
export function matches(item: Record<string, unknown>, conds: Condition[]): boolean {
  return conds.every((c) => {
    let v: unknown = item;
    for (const p of c.path) v = v && typeof v === "object" ? (v as Record<string, unknown>)[p] : undefined;
    if (typeof v !== "string") return false;
    return c.op === "eq" ? v === c.value : v.startsWith(c.value);
  });
}
