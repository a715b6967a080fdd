// One chunk of a contact import: each row names its customer by code (`客户编码`), is validated with the API's contact
// schema, and is matched within that customer by name and phone (mobile, else phone); new contacts are created and
// changed ones replaced exactly as the contacts API does (counter, primary pointer and audit in one transaction).
// Idempotent as customer imports are: an inserted contact's id is derived from (job, row) and every contact the
// import writes carries `importMark = <jobId>#<row>#<outcome>`, so a chunk repeated after a crash writes nothing twice.
import { AppError, ConflictError } from "../../http/errors.ts";
import { auditPut } from "../audit/audit.ts";
import { insertContact, type PrimaryChange, replaceContact, toContact } from "../contacts/repository.ts";
import { type Contact, type ContactCreate, ContactCreateSchema } from "../contacts/schemas.ts";
import { batchGetProfiles, getCustomerItem, readCollection } from "../customers/repository.ts";
import { guardSensitive } from "../org/sensitive.ts";
import { canSee } from "../org/viewer.ts";
import { normalizeQuery } from "../validation/index.ts";
import type { ChunkContext, RowOutcome, RowResult } from "./customer-import.ts";
import { derivedId, pool, WRITE_CONCURRENCY } from "./customer-import.ts";
import { guardOwners } from "./repository.ts";

export interface ContactRow {
  line: number;
  cells: string[];
  customerCode?: string;
  fields?: ContactCreate;
  error?: { column: string; message: string };
}

/** Validates a mapped contact row (customerCode apart: it names the customer, it is not a contact field). */
export function validateContactRow(
  raw: Record<string, unknown>,
  columnOf: (field: string) => string,
): { customerCode?: string; fields?: ContactCreate; error?: { column: string; message: string } } {
  const { customerCode, ...rest } = raw;
  if (typeof customerCode !== "string") return { error: { column: columnOf("customerCode"), message: "required" } };
  const res = ContactCreateSchema.safeParse(rest);
  if (!res.success) {
    const issue = res.error.issues[0]!;
    const field = String(issue.path[0] ?? "");
    const message = issue.code === "invalid_type" && rest[field] === undefined ? "required" : issue.message;
    return { error: { column: field ? columnOf(field) : "", message } };
  }
  return { customerCode, fields: res.data };
}

const digits = (s: string | undefined) => (s ?? "").replace(/\D/g, "");
const keyOf = (c: { name: string; mobile?: string | undefined; phone?: string | undefined }) =>
  `${normalizeQuery(c.name)}|${digits(c.mobile ?? c.phone)}`;

const MAX_ATTEMPTS = 6;
const busy = (err: unknown) =>
  err instanceof ConflictError && /try again|meanwhile|changed by someone/.test(err.message);

/** Imports one chunk of contact rows; one result per row, in row order. Rows of one customer run one at a time. */
export async function importContactChunk(ctx: ChunkContext, rows: readonly ContactRow[]): Promise<RowResult[]> {
  const results = new Map<number, RowResult>();
  const valid = rows.filter((r) => {
    if (!r.fields) results.set(r.line, { line: r.line, outcome: "failed", error: r.error });
    return !!r.fields;
  });
  const codes = [...new Set(valid.map((r) => r.customerCode!.toUpperCase()))];
  const owners = await guardOwners(ctx.tenant, codes, []);
  const profiles = await batchGetProfiles(ctx.tenant, [...new Set(owners.codes.values())]);
  const byCustomer = new Map<string, ContactRow[]>();
  for (const r of valid) {
    const id = owners.codes.get(r.customerCode!.toUpperCase());
    const c = id ? profiles.get(id) : undefined;
    if (!c || c.deletedAt || !canSee(ctx.viewer, c)) {
      results.set(r.line, {
        line: r.line,
        outcome: "failed",
        error: { column: "customerCode", message: `no customer with code ${r.customerCode} (or not yours to see)` },
      });
      continue;
    }
    byCustomer.set(c.id, [...(byCustomer.get(c.id) ?? []), r]);
  }
  await pool([...byCustomer], WRITE_CONCURRENCY, async ([customerId, list]) => {
    const existing = new Map<string, Contact>();
    for (const item of await readCollection(ctx.tenant, customerId)) {
      if (item.entity === "contact") existing.set(keyOf(item as unknown as Contact), toContact(item));
    }
    // Rows of one contact in this chunk merge into one write (upsert: later values win; insert: the first row),
    // made as the group's last row; the other rows count as skipped.
    const groups = new Map<string, ContactRow[]>();
    for (const r of list) groups.set(keyOf(r.fields!), [...(groups.get(keyOf(r.fields!)) ?? []), r]);
    for (const group of groups.values()) {
      const last = group.at(-1)!;
      const fields =
        ctx.mode === "upsert" ? (Object.assign({}, ...group.map((g) => g.fields)) as ContactCreate) : group[0]!.fields!;
      const r: ContactRow = { ...last, fields };
      let out: { outcome: RowOutcome; error?: { column: string; message: string } };
      for (let attempt = 1; ; attempt++) {
        try {
          out = await applyContact(ctx, customerId, r, existing);
          break;
        } catch (err) {
          if (busy(err) && attempt < MAX_ATTEMPTS) {
            for (const item of await readCollection(ctx.tenant, customerId)) {
              if (item.entity === "contact") existing.set(keyOf(item as unknown as Contact), toContact(item));
            }
            continue;
          }
          if (!(err instanceof AppError)) throw err;
          const e = err.errors?.[0];
          out = { outcome: "failed", error: { column: e?.path ?? "", message: e?.message ?? err.message } };
          break;
        }
      }
      for (const g of group) {
        const extra = g !== last;
        results.set(
          g.line,
          extra && out.outcome !== "failed" ? { line: g.line, outcome: "skipped" } : { line: g.line, ...out },
        );
      }
    }
  });
  return rows.map((r) => results.get(r.line)!);
}

async function applyContact(
  ctx: ChunkContext,
  customerId: string,
  r: ContactRow,
  existing: Map<string, Contact>,
): Promise<{ outcome: RowOutcome }> {
  const input = r.fields!;
  const key = keyOf(input);
  const found = existing.get(key) as (Contact & { importMark?: string }) | undefined;
  const mark = (o: "inserted" | "updated") => `${ctx.jobId}#${r.line}#${o}`;
  if (found?.importMark === mark("inserted")) return { outcome: "inserted" };
  if (found?.importMark === mark("updated")) return { outcome: "updated" };
  if (found && ctx.mode === "insert") return { outcome: "skipped" };
  const at = new Date().toISOString();
  const primaryOf = async (id: string): Promise<PrimaryChange | undefined> => {
    if (!input.isPrimary) return undefined;
    const customer = await getCustomerItem(ctx.tenant, customerId);
    return customer?.primaryContactId === id ? undefined : { from: customer?.primaryContactId, to: id };
  };
  if (!found) {
    guardSensitive(ctx.viewer, input, undefined);
    if (ctx.dryRun) return { outcome: "inserted" };
    const contact: Contact & { importMark: string } = {
      id: derivedId(ctx.jobCreatedMs, `${ctx.jobId}#${r.line}`),
      customerId,
      ...input,
      version: 1,
      createdAt: at,
      updatedAt: at,
      createdBy: ctx.caller.userId,
      updatedBy: ctx.caller.userId,
      importMark: mark("inserted"),
    };
    try {
      await insertContact(ctx.tenant, contact, await primaryOf(contact.id), [
        auditPut(ctx.tenant, {
          at,
          actor: ctx.caller.userId,
          action: "create",
          entityType: "contact",
          entityId: contact.id,
          parentId: customerId,
          before: null,
          after: { ...contact },
          requestId: ctx.jobId,
        }),
      ]);
    } catch (err) {
      // Written by an earlier attempt of this chunk: its id is this row's.
      if (err instanceof ConflictError && /already exists/.test(err.message)) return { outcome: "inserted" };
      throw err;
    }
    existing.set(key, contact);
    return { outcome: "inserted" };
  }
  const change = guardSensitive(ctx.viewer, input as Record<string, unknown>, found);
  const set: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(change)) {
    if (v !== undefined && JSON.stringify(v) !== JSON.stringify((found as Record<string, unknown>)[k])) set[k] = v;
  }
  // isPrimary false on a row does not demote: a file lists people, it does not take the primary role away.
  if (set.isPrimary === false) delete set.isPrimary;
  if (!Object.keys(set).length) return { outcome: "skipped" };
  if (ctx.dryRun) return { outcome: "updated" };
  const after: Contact & { importMark: string } = {
    ...found,
    ...set,
    version: found.version + 1,
    updatedAt: at,
    updatedBy: ctx.caller.userId,
    importMark: mark("updated"),
  };
  await replaceContact(ctx.tenant, found, after, set.isPrimary ? await primaryOf(found.id) : undefined, [
    auditPut(ctx.tenant, {
      at,
      actor: ctx.caller.userId,
      action: "update",
      entityType: "contact",
      entityId: found.id,
      parentId: customerId,
      before: { ...found },
      after: { ...after },
      requestId: ctx.jobId,
    }),
  ]);
  existing.set(key, after);
  return { outcome: "updated" };
}
