// One chunk of a contact import: each row names its customer by code (`客户编码`), is validated with the API's contact
// schema, and is matched within that customer by name and phone (mobile, else phone); new contacts are created and
// changed ones replaced with the items the contacts API writes (counter, primary pointer and audit in the same
// transaction). Idempotent as customer imports are: an inserted contact's id is derived from (job, row) and every contact
// the import writes carries `importMark = <jobId>#<row>#<outcome>`, so a chunk repeated after a crash writes nothing twice.
import { type GuardedItem, MAX_TRANSACTION_ITEMS } from "../../db/transact.ts";
import { AppError, ConflictError } from "../../http/errors.ts";
import { auditPut } from "../audit/audit.ts";
import { chainOf } from "../audit/chain.ts";
import {
  type ContactBatch,
  contactBatchItems,
  insertContact,
  type PrimaryChange,
  replaceContact,
  toContact,
} from "../contacts/repository.ts";
import { type Contact, type ContactCreate, ContactCreateSchema } from "../contacts/schemas.ts";
import { batchGetProfiles, type CustomerItem, getCustomerItem, readCollection } from "../customers/repository.ts";
import { guardSensitive } from "../org/sensitive.ts";
import { canSee } from "../org/viewer.ts";
import { normalizeQuery } from "../validation/index.ts";
import type { ChunkContext, RowOutcome, RowResult } from "./customer-import.ts";
import { derivedId, GROUP_CONCURRENCY, rowFailure, WRITE_CONCURRENCY } from "./customer-import.ts";
import { pool, settledPool } from "../../db/pool.ts";
import { guardOwners, writeGroup } from "./repository.ts";

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

/** Items of one contact transaction at most: DynamoDB's 100 less room for the audit chain heads it moves. */
const MAX_BATCH_ITEMS = MAX_TRANSACTION_ITEMS - 4;

/**
 * Imports one chunk of contact rows; one result per row, in row order.
 *
 * Each customer's rows are planned against its contacts as read (one consistent Query, none when its counter says it
 * has no contacts), into one batch: its new and changed contacts, one counter and primary-pointer update, their audit
 * entries. Batches of customers of one audit chain are packed into one TransactWriteItems (a new contact's id is
 * chosen in its customer's chain, so a lane of batches moves one chain head and lanes never contend), lanes written in
 * parallel. A transaction that is cancelled
 * (a customer deleted or its primary changed meanwhile, a contact edited) is not retried as a whole: each customer of
 * it is read again and its rows written one by one, as the contacts API would, each row failing on its own.
 */
export async function importContactChunk(ctx: ChunkContext, rows: readonly ContactRow[]): Promise<RowResult[]> {
  const results = new Map<number, RowResult>();
  const valid = rows.filter((r) => {
    if (!r.fields) results.set(r.line, { line: r.line, outcome: "failed", error: r.error });
    return !!r.fields;
  });
  const codes = [...new Set(valid.map((r) => r.customerCode!.toUpperCase()))];
  const owners = await guardOwners(ctx.tenant, codes, []);
  // Read consistently: a profile's contact counter moves in the same transaction as its contacts, so a counter of 0
  // means there is nothing to match the rows against (and no earlier attempt of this chunk wrote any).
  const profiles = await batchGetProfiles(ctx.tenant, [...new Set(owners.codes.values())], true);
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
  const lanes = new Map<number, Planned[]>();
  await pool([...byCustomer], WRITE_CONCURRENCY, async ([customerId, list]) => {
    const customer = profiles.get(customerId)!;
    const none = customer.stats?.contactCount === 0;
    const planned = planCustomer(ctx, customer, list, none ? new Map() : await contactsOf(ctx.tenant, customerId));
    for (const [line, r] of planned.results) results.set(line, r);
    if (!planned.items.length || ctx.dryRun) return;
    if (planned.items.length > MAX_BATCH_ITEMS) {
      await oneByOne(ctx, customerId, list, results);
      return;
    }
    const chain = chainOf(customerId);
    lanes.set(chain, [...(lanes.get(chain) ?? []), planned]);
  });
  await settledPool([...lanes.values()], GROUP_CONCURRENCY, async (lane) => {
    for (const group of packBatches(lane)) {
      try {
        await writeGroup(group.flatMap((p) => p.items));
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        for (const p of group) await oneByOne(ctx, p.customerId, byCustomer.get(p.customerId)!, results);
      }
    }
  });
  return rows.map((r) => results.get(r.line)!);
}

/** A customer's rows planned: the result of each row, and the items of its one batch (none when nothing changes). */
interface Planned {
  customerId: string;
  results: Map<number, RowResult>;
  items: GuardedItem[];
}

/** A stored contact with the mark of the import row that last wrote it. */
type Stored = Contact & { importMark?: string };

/** A customer's contacts by match key, read consistently (a repeated chunk must see what its first attempt wrote). */
async function contactsOf(tenant: string, customerId: string): Promise<Map<string, Stored>> {
  const existing = new Map<string, Stored>();
  for (const item of await readCollection(tenant, customerId)) {
    if (item.entity !== "contact") continue;
    const mark = typeof item.importMark === "string" ? { importMark: item.importMark } : {};
    existing.set(keyOf(item as unknown as Contact), { ...toContact(item), ...mark });
  }
  return existing;
}

/** Rows of one contact in this chunk, merged into one write (upsert: later values win; insert: the first row). */
function groupRows(ctx: ChunkContext, list: ContactRow[]): { rows: ContactRow[]; merged: ContactRow }[] {
  const groups = new Map<string, ContactRow[]>();
  for (const r of list) groups.set(keyOf(r.fields!), [...(groups.get(keyOf(r.fields!)) ?? []), r]);
  return [...groups.values()].map((rows) => {
    const last = rows.at(-1)!;
    const fields =
      ctx.mode === "upsert" ? (Object.assign({}, ...rows.map((g) => g.fields)) as ContactCreate) : rows[0]!.fields!;
    return { rows, merged: { ...last, fields } };
  });
}

/** The results of a group's rows: the merged write's outcome on its last row, the others skipped (or all failed). */
function groupResults(
  rows: ContactRow[],
  out: { outcome: RowOutcome; error?: { column: string; message: string } },
  into: Map<number, RowResult>,
) {
  const last = rows.at(-1)!;
  for (const g of rows) {
    into.set(
      g.line,
      g !== last && out.outcome !== "failed" ? { line: g.line, outcome: "skipped" } : { line: g.line, ...out },
    );
  }
}

/** The id a contact this row inserts gets: derived from (job, row), and in its customer's audit chain. */
function contactIdFor(ctx: ChunkContext, customerId: string, line: number): string {
  const chain = chainOf(customerId);
  for (let n = 0; ; n++) {
    const id = derivedId(ctx.jobCreatedMs, n ? `${ctx.jobId}#${line}#${n}` : `${ctx.jobId}#${line}`);
    if (chainOf(id) === chain) return id;
  }
}

const importMarkOf = (ctx: ChunkContext, line: number, o: "inserted" | "updated") => `${ctx.jobId}#${line}#${o}`;

/** Plans a customer's rows against its contacts as read: what each row comes to, and the customer's one batch. */
function planCustomer(
  ctx: ChunkContext,
  customer: CustomerItem,
  list: ContactRow[],
  existing: Map<string, Stored>,
): Planned {
  const results = new Map<number, RowResult>();
  const writes: Write[] = [];
  const at = new Date().toISOString();
  for (const { rows, merged } of groupRows(ctx, list)) {
    const input = merged.fields!;
    const found = existing.get(keyOf(input));
    const done = (outcome: RowOutcome) => groupResults(rows, { outcome }, results);
    if (found?.importMark === importMarkOf(ctx, merged.line, "inserted")) done("inserted");
    else if (found?.importMark === importMarkOf(ctx, merged.line, "updated")) done("updated");
    else if (found && ctx.mode === "insert") done("skipped");
    else {
      try {
        const w = found
          ? updateOf(ctx, found, input, merged.line, at)
          : insertOf(ctx, customer.id, input, merged.line, at);
        if (w) writes.push({ ...w, rows, claims: input.isPrimary === true });
        done(w ? (found ? "updated" : "inserted") : "skipped");
      } catch (err) {
        groupResults(rows, rowFailure(err), results);
      }
    }
  }
  // The primary role goes to the last row that claims it, as if the rows were written one after the other: earlier
  // claims of this chunk give it up, and so does the contact that held it (in its own write when this chunk changes
  // it too, else by a demotion). A change that comes to nothing once the claim is given up is a skip.
  const current = customer.primaryContactId;
  const next = writes.findLast((w) => w.claims)?.after.id;
  const batch: ContactBatch = { customerId: customer.id, writes: [] };
  if (next && next !== current) {
    batch.primary = { from: current, to: next };
    if (current && !writes.some((w) => w.after.id === current))
      batch.demote = { id: current, at, by: ctx.caller.userId };
  }
  for (const w of [...writes]) {
    if (!next || w.after.id === next || !w.after.isPrimary) continue;
    w.after.isPrimary = false;
    if (w.before && w.before.isPrimary !== true && w.changed.every((k) => k === "isPrimary")) {
      writes.splice(writes.indexOf(w), 1);
      groupResults(w.rows, { outcome: "skipped" }, results);
    }
  }
  if (!writes.length) return { customerId: customer.id, results, items: [] };
  const audits: GuardedItem[] = [];
  for (const w of writes) {
    batch.writes.push({ before: w.before, after: w.after });
    audits.push(
      auditPut(
        ctx.tenant,
        {
          at,
          actor: ctx.caller.userId,
          action: w.before ? "update" : "create",
          entityType: "contact",
          entityId: w.after.id,
          parentId: customer.id,
          before: w.before ? toContact(w.before) : null,
          after: toContact(w.after),
          requestId: ctx.jobId,
        },
        ctx.heads,
      ),
    );
  }
  return { customerId: customer.id, results, items: contactBatchItems(ctx.tenant, batch, audits) };
}

/** A contact write of a chunk: the stored contact before and after, the fields it changes, the rows it stands for. */
interface Write {
  before?: Contact;
  after: Contact & { importMark: string };
  changed: string[];
  rows: ContactRow[];
  /** The rows say this contact is the primary one. */
  claims: boolean;
}

/** A new contact from a row (its sensitive fields checked against the importer's rights). */
function insertOf(
  ctx: ChunkContext,
  customerId: string,
  input: ContactCreate,
  line: number,
  at: string,
): Pick<Write, "after" | "changed"> {
  guardSensitive(ctx.viewer, input, undefined);
  const after = {
    id: contactIdFor(ctx, customerId, line),
    customerId,
    ...input,
    version: 1,
    createdAt: at,
    updatedAt: at,
    createdBy: ctx.caller.userId,
    updatedBy: ctx.caller.userId,
    importMark: importMarkOf(ctx, line, "inserted"),
  };
  return { after, changed: Object.keys(input) };
}

/** A stored contact changed by a row, or undefined when the row changes nothing. */
function updateOf(
  ctx: ChunkContext,
  found: Contact,
  input: ContactCreate,
  line: number,
  at: string,
): Pick<Write, "before" | "after" | "changed"> | undefined {
  const change = guardSensitive(ctx.viewer, input as Record<string, unknown>, found);
  const set: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(change)) {
    if (v !== undefined && JSON.stringify(v) !== JSON.stringify((found as Record<string, unknown>)[k])) set[k] = v;
  }
  // isPrimary false on a row does not demote: a file lists people, it does not take the primary role away.
  if (set.isPrimary === false) delete set.isPrimary;
  if (!Object.keys(set).length) return undefined;
  const after = {
    ...found,
    ...set,
    version: found.version + 1,
    updatedAt: at,
    updatedBy: ctx.caller.userId,
    importMark: importMarkOf(ctx, line, "updated"),
  };
  return { before: found, after, changed: Object.keys(set) };
}

/** Consecutive batches of a lane packed into transactions of at most MAX_BATCH_ITEMS items. */
function packBatches(lane: Planned[]): Planned[][] {
  const out: Planned[][] = [];
  let cur: Planned[] = [];
  let items = 0;
  for (const p of lane) {
    if (cur.length && items + p.items.length > MAX_BATCH_ITEMS) {
      out.push(cur);
      cur = [];
      items = 0;
    }
    cur.push(p);
    items += p.items.length;
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * A customer's rows written one at a time, each in its own transaction against its contacts read afresh (retried when
 * another writer moved them meanwhile): the path of a batch whose transaction was cancelled, or too big for one.
 */
async function oneByOne(ctx: ChunkContext, customerId: string, list: ContactRow[], results: Map<number, RowResult>) {
  let existing = await contactsOf(ctx.tenant, customerId);
  for (const { rows, merged } of groupRows(ctx, list)) {
    let out: { outcome: RowOutcome; error?: { column: string; message: string } };
    for (let attempt = 1; ; attempt++) {
      try {
        out = await applyContact(ctx, customerId, merged, existing);
        break;
      } catch (err) {
        if (busy(err) && attempt < MAX_ATTEMPTS) {
          existing = await contactsOf(ctx.tenant, customerId);
          continue;
        }
        out = rowFailure(err);
        break;
      }
    }
    groupResults(rows, out, results);
  }
}

async function applyContact(
  ctx: ChunkContext,
  customerId: string,
  r: ContactRow,
  existing: Map<string, Stored>,
): Promise<{ outcome: RowOutcome }> {
  const input = r.fields!;
  const key = keyOf(input);
  const found = existing.get(key);
  const mark = (o: "inserted" | "updated") => importMarkOf(ctx, r.line, o);
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
    const contact = insertOf(ctx, customerId, input, r.line, at).after;
    if (ctx.dryRun) return { outcome: "inserted" };
    try {
      await insertContact(ctx.tenant, contact, await primaryOf(contact.id), [
        auditPut(
          ctx.tenant,
          {
            at,
            actor: ctx.caller.userId,
            action: "create",
            entityType: "contact",
            entityId: contact.id,
            parentId: customerId,
            before: null,
            after: toContact(contact),
            requestId: ctx.jobId,
          },
          ctx.heads,
        ),
      ]);
    } catch (err) {
      // Written by an earlier attempt of this chunk: its id is this row's.
      if (err instanceof ConflictError && /already exists/.test(err.message)) return { outcome: "inserted" };
      throw err;
    }
    existing.set(key, contact);
    return { outcome: "inserted" };
  }
  const w = updateOf(ctx, found, input, r.line, at);
  if (!w) return { outcome: "skipped" };
  if (ctx.dryRun) return { outcome: "updated" };
  const after = w.after;
  await replaceContact(
    ctx.tenant,
    found,
    after,
    w.changed.includes("isPrimary") ? await primaryOf(found.id) : undefined,
    [
      auditPut(
        ctx.tenant,
        {
          at,
          actor: ctx.caller.userId,
          action: "update",
          entityType: "contact",
          entityId: found.id,
          parentId: customerId,
          before: toContact(found),
          after: toContact(after),
          requestId: ctx.jobId,
        },
        ctx.heads,
      ),
    ],
  );
  existing.set(key, after);
  return { outcome: "updated" };
}
