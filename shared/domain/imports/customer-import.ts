// One chunk of a customer import: rows validated with the API's own schema, grouped by the match key, looked up in
// batches (guard items for code and USCC, the search index for name+phone), then inserted or updated each in its own
// transaction with its audit entry, exactly like the API's create and PATCH.
//
// Idempotency without a marker per row: every write of a chunk is deterministic and says which row made it.
// - An inserted customer's id is derived from (job, first row of its group), so inserting it again is refused by the
//   profile's `attribute_not_exists(PK)`: a chunk repeated after a crash cannot create it twice.
// - Every customer an import writes carries `importMark = <jobId>#<row>#<outcome>` (row = the last row of its group),
//   written in the same transaction. A repeated chunk that finds its own mark counts the recorded outcome again
//   and writes nothing. Counts are only stored with the chunk's checkpoint, so each row is counted exactly once.
import { createHash } from "node:crypto";
import type { Caller } from "../../auth/claims.ts";
import { AppError, ConflictError, ValidationError } from "../../http/errors.ts";
import { auditPut } from "../audit/audit.ts";
import {
  batchGetProfiles,
  type CustomerItem,
  getCustomerItem,
  insertCustomer,
  searchCustomers,
  toCustomer,
  updateCustomer,
} from "../customers/repository.ts";
import { type Customer, type CustomerCreate, CustomerCreateSchema } from "../customers/schemas.ts";
import { getUserRecord } from "../org/repository.ts";
import { guardSensitive } from "../org/sensitive.ts";
import { canSee, type Viewer } from "../org/viewer.ts";
import { counterKey, renderCode } from "../settings/code-pattern.ts";
import { getSettings, nextSequence, type Settings } from "../settings/settings.ts";
import { normalizeQuery, searchTokens } from "../validation/index.ts";
import { guardOwners } from "./repository.ts";
import type { MatchKey } from "./schemas.ts";

export type RowOutcome = "inserted" | "updated" | "skipped" | "failed";

/** A data row after mapping and validation. */
export interface ImportRow {
  line: number;
  /** The row's cells as read (for the error report). */
  cells: string[];
  /** Validated fields, only those the row actually filled (for updates), or undefined when invalid. */
  fields?: Partial<CustomerCreate>;
  /** Why the row is invalid. */
  error?: { column: string; message: string };
}

export interface RowResult {
  line: number;
  outcome: RowOutcome;
  customerId?: string;
  error?: { column: string; message: string };
}

export interface ChunkContext {
  tenant: string;
  entity: "customers" | "contacts" | "orders";
  jobId: string;
  /** Time part of ids of inserted customers (the job's creation), so they are the same on every attempt. */
  jobCreatedMs: number;
  viewer: Viewer;
  caller: Caller;
  mode: "insert" | "upsert";
  matchOn: MatchKey;
  dryRun: boolean;
  /** Department of each owner, read once per run. */
  owners: Map<string, { deptId?: string; deptPath?: string }>;
  settings?: Settings;
}

/** Parallel writes within a chunk (groups have distinct keys, so they never touch the same customer). */
export const WRITE_CONCURRENCY = 8;
const MAX_UPDATE_ATTEMPTS = 4;
const MAX_BUSY_ATTEMPTS = 8;
const busy = (err: unknown) => err instanceof ConflictError && /try again/.test(err.message);

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A ULID-shaped id whose time part is `ms` and whose random part is derived from `seed`: the same every time. */
export function derivedId(ms: number, seed: string): string {
  let time = "";
  let t = ms;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  const bytes = createHash("sha256").update(seed).digest();
  let rand = "";
  for (let i = 0; i < 16; i++) rand += ALPHABET[bytes[i]! % 32]!;
  return time + rand;
}

/** Validates a mapped row with the create schema; keeps only the fields the row filled. */
export function validateCustomerRow(
  raw: Record<string, unknown>,
  columnOf: (field: string) => string,
): { fields?: Partial<CustomerCreate>; error?: { column: string; message: string } } {
  const res = CustomerCreateSchema.safeParse(raw);
  if (!res.success) {
    const issue = res.error.issues[0]!;
    const field = String(issue.path[0] ?? "");
    const message = issue.code === "invalid_type" && raw[field] === undefined ? "required" : issue.message;
    return { error: { column: field ? columnOf(field) : "", message } };
  }
  const fields: Record<string, unknown> = {};
  for (const k of Object.keys(raw)) fields[k] = (res.data as Record<string, unknown>)[k];
  return { fields: fields as Partial<CustomerCreate> };
}

const digits = (s: string | undefined) => (s ?? "").replace(/\D/g, "");

/** The row's match key, or undefined when the row lacks it (it then always inserts). */
function matchKeyOf(f: Partial<CustomerCreate>, on: MatchKey): string | undefined {
  if (on === "code") return f.code?.toUpperCase();
  if (on === "uscc") return f.uscc;
  return f.name && f.phone ? `${normalizeQuery(f.name)}|${digits(f.phone)}` : undefined;
}

/** Runs `work` over `items` with at most `n` in flight. */
export async function pool<T>(items: readonly T[], n: number, work: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

interface Group {
  key: string;
  rows: ImportRow[];
  fields: Partial<CustomerCreate>;
}

/** Imports one chunk of rows; resolves one result per row, in row order. */
export async function importCustomerChunk(ctx: ChunkContext, rows: readonly ImportRow[]): Promise<RowResult[]> {
  const results = new Map<number, RowResult>();
  const groups = new Map<string, Group>();
  for (const r of rows) {
    if (!r.fields) {
      results.set(r.line, { line: r.line, outcome: "failed", error: r.error });
      continue;
    }
    const key = matchKeyOf(r.fields, ctx.matchOn) ?? `#row${r.line}`;
    const g = groups.get(key);
    if (g) {
      g.rows.push(r);
      // Upsert: later rows of the same key win; insert: the first row is the one inserted.
      // The match key itself stays as the first row wrote it (a code matches whatever its case).
      if (ctx.mode === "upsert") g.fields = { ...g.fields, ...r.fields, code: g.fields.code ?? r.fields.code };
    } else groups.set(key, { key, rows: [r], fields: { ...r.fields } });
  }
  const list = [...groups.values()];

  const codes = list.flatMap((g) => (g.fields.code ? [g.fields.code] : []));
  const usccs = list.flatMap((g) => (g.fields.uscc ? [g.fields.uscc] : []));
  const guards = await guardOwners(ctx.tenant, codes, usccs);
  const matched = new Map<Group, string>();
  for (const g of list) {
    const id = await lookup(ctx, g, guards);
    if (id) matched.set(g, id);
  }
  const profiles = await batchGetProfiles(ctx.tenant, [...new Set(matched.values())]);

  await pool(list, WRITE_CONCURRENCY, async (g) => {
    let r: { outcome: RowOutcome; customerId?: string; error?: { column: string; message: string } };
    for (let attempt = 1; ; attempt++) {
      try {
        r = await applyGroup(ctx, g, matched.get(g), profiles, guards);
        break;
      } catch (err) {
        // Contention (the audit chain's head, a transaction conflict) is not the row's fault: the whole transaction
        // was refused, so it is simply tried again.
        if (busy(err) && attempt < MAX_BUSY_ATTEMPTS) {
          await new Promise((res) => setTimeout(res, 50 * attempt * (0.5 + Math.random())));
          continue;
        }
        if (!(err instanceof AppError) || busy(err)) throw err;
        const e = err.errors?.[0];
        r = { outcome: "failed", error: { column: e?.path ?? "", message: e?.message ?? err.message } };
        break;
      }
    }
    const [first, ...rest] = g.rows;
    results.set(first!.line, { line: first!.line, ...r });
    for (const row of rest) {
      results.set(
        row.line,
        r.outcome === "failed"
          ? { line: row.line, outcome: "failed", error: r.error }
          : { line: row.line, outcome: "skipped", customerId: r.customerId },
      );
    }
  });
  return rows.map((r) => results.get(r.line)!);
}

/** The id of the existing customer the group's key names, if any. */
async function lookup(
  ctx: ChunkContext,
  g: Group,
  guards: { codes: Map<string, string>; usccs: Map<string, string> },
): Promise<string | undefined> {
  if (g.key.startsWith("#row")) return undefined;
  if (ctx.matchOn === "code") return guards.codes.get(g.key);
  if (ctx.matchOn === "uscc") return guards.usccs.get(g.key);
  // name+phone: the name's search token, then the exact name and phone (the search index is eventually consistent in
  // the cloud; the README says what that means for two rows with the same name and phone in one file).
  const token = normalizeQuery(g.fields.name!);
  let start: Record<string, unknown> | undefined;
  do {
    const page = await searchCustomers(ctx.tenant, token, [], 100, start);
    const hit = page.items.find((c) => normalizeQuery(c.name) === token && digits(c.phone) === digits(g.fields.phone));
    if (hit) return hit.id;
    start = page.state as Record<string, unknown> | undefined;
  } while (start);
  return undefined;
}

const mark = (ctx: ChunkContext, g: Group, outcome: "inserted" | "updated") =>
  `${ctx.jobId}#${g.rows.at(-1)!.line}#${outcome}`;

async function applyGroup(
  ctx: ChunkContext,
  g: Group,
  matchedId: string | undefined,
  profiles: Map<string, CustomerItem>,
  guards: { codes: Map<string, string>; usccs: Map<string, string> },
): Promise<{ outcome: RowOutcome; customerId?: string; error?: { column: string; message: string } }> {
  let existing = matchedId ? profiles.get(matchedId) : undefined;
  // The group's other unique values must not belong to another customer (so a dry run reports it too).
  const taken = (label: string, holder: string | undefined) =>
    holder !== undefined && holder !== existing?.id ? label : undefined;
  const clash =
    (g.fields.code && taken("code", guards.codes.get(g.fields.code.toUpperCase()))) ||
    (g.fields.uscc && taken("uscc", guards.usccs.get(g.fields.uscc)));
  if (clash && !(ctx.mode === "insert" && existing)) {
    const value = clash === "code" ? g.fields.code : g.fields.uscc;
    return { outcome: "failed", error: { column: clash, message: `${value} is already used by another customer` } };
  }
  for (let attempt = 1; ; attempt++) {
    if (!existing) return insertGroup(ctx, g);
    const ours = typeof existing.importMark === "string" && existing.importMark.startsWith(`${ctx.jobId}#`);
    if (ours && existing.importMark === mark(ctx, g, "inserted"))
      return { outcome: "inserted", customerId: existing.id };
    if (ours && existing.importMark === mark(ctx, g, "updated")) return { outcome: "updated", customerId: existing.id };
    if (existing.deletedAt) {
      return {
        outcome: "failed",
        error: {
          column: ctx.matchOn,
          message: `matches customer ${existing.code} in the recycle bin; restore it first`,
        },
      };
    }
    if (ctx.mode === "insert") return { outcome: "skipped", customerId: existing.id };
    if (!canSee(ctx.viewer, existing)) {
      return {
        outcome: "failed",
        error: { column: ctx.matchOn, message: "matches a customer outside your data scope" },
      };
    }
    try {
      return await updateExisting(ctx, g, existing);
    } catch (err) {
      const stale = err instanceof ConflictError && /changed by someone else/.test(err.message);
      if (!stale || attempt >= MAX_UPDATE_ATTEMPTS) throw err;
      existing = await getCustomerItem(ctx.tenant, existing.id);
    }
  }
}

async function departmentOf(ctx: ChunkContext, ownerId: string) {
  const v = ctx.viewer;
  if (ownerId === v.userId) return { deptId: v.deptId, deptPath: v.deptPath };
  let d = ctx.owners.get(ownerId);
  if (!d) {
    const user = await getUserRecord(ctx.tenant, ownerId);
    d = user ? { deptId: user.deptId, deptPath: user.deptPath } : { deptId: v.deptId, deptPath: v.deptPath };
    ctx.owners.set(ownerId, d);
  }
  return d;
}

async function insertGroup(
  ctx: ChunkContext,
  g: Group,
): Promise<{ outcome: RowOutcome; customerId?: string; error?: { column: string; message: string } }> {
  const first = g.rows[0]!;
  const id = derivedId(ctx.jobCreatedMs, `${ctx.jobId}#${first.line}`);
  const input = CustomerCreateSchema.parse(g.fields);
  guardSensitive(ctx.viewer, input, undefined);
  if (ctx.dryRun) return { outcome: "inserted", customerId: id };
  const ownerId = input.ownerId ?? ctx.caller.userId;
  const dept = await departmentOf(ctx, ownerId);
  const now = new Date();
  let code = input.code;
  if (!code) {
    ctx.settings ??= await getSettings(ctx.tenant);
    const s = ctx.settings;
    const seq = await nextSequence(ctx.tenant, "CUSTCODE", counterKey(s.customerCodePattern, now, s.timeZone));
    code = renderCode(s.customerCodePattern, now, s.timeZone, seq);
  }
  const at = now.toISOString();
  const customer: Customer & { importMark: string } = {
    id,
    ...input,
    code,
    ownerId,
    ...(dept.deptId ? { deptId: dept.deptId } : {}),
    ...(dept.deptPath ? { deptPath: dept.deptPath } : {}),
    categories: {},
    stats: { contactCount: 0 },
    version: 1,
    createdAt: at,
    updatedAt: at,
    createdBy: ctx.caller.userId,
    updatedBy: ctx.caller.userId,
    importMark: mark(ctx, g, "inserted"),
  };
  try {
    await insertCustomer(ctx.tenant, customer, searchTokens(customer.name, customer.code), [
      auditPut(ctx.tenant, {
        at,
        actor: ctx.caller.userId,
        action: "create",
        entityType: "customer",
        entityId: id,
        before: null,
        after: { ...customer },
        requestId: ctx.jobId,
      }),
    ]);
  } catch (err) {
    if (err instanceof ConflictError && /with this id already exists/.test(err.message)) {
      // Written by an earlier attempt of this chunk (the id is this row's): count it as that attempt did.
      const mine = await getCustomerItem(ctx.tenant, id);
      if (mine?.importMark === mark(ctx, g, "updated")) return { outcome: "updated", customerId: id };
      return { outcome: "inserted", customerId: id };
    }
    throw err;
  }
  return { outcome: "inserted", customerId: id };
}

async function updateExisting(
  ctx: ChunkContext,
  g: Group,
  before: CustomerItem,
): Promise<{ outcome: RowOutcome; customerId?: string }> {
  const fields = guardSensitive(ctx.viewer, g.fields as Record<string, unknown>, before);
  const set: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    if (JSON.stringify(v) !== JSON.stringify(before[k])) set[k] = v;
  }
  // Codes are matched case-insensitively: a row naming a code in another case does not rename it.
  if (typeof set.code === "string" && set.code.toUpperCase() === before.code.toUpperCase()) delete set.code;
  const type = (set.type as string | undefined) ?? before.type;
  const uscc = (set.uscc as string | undefined) ?? before.uscc;
  if (type === "individual" && uscc) {
    throw new ValidationError("invalid", [
      { path: "uscc", message: "a unified social credit code applies to enterprises" },
    ]);
  }
  if (!Object.keys(set).length) return { outcome: "skipped", customerId: before.id };
  if (ctx.dryRun) return { outcome: "updated", customerId: before.id };
  if (typeof set.ownerId === "string") Object.assign(set, await departmentOf(ctx, set.ownerId));
  const at = new Date().toISOString();
  Object.assign(set, {
    version: before.version + 1,
    updatedAt: at,
    updatedBy: ctx.caller.userId,
    importMark: mark(ctx, g, "updated"),
  });
  const beforeImage = { ...toCustomer(before) } as Record<string, unknown>;
  const after: Record<string, unknown> = { ...beforeImage, ...set };
  const tokens = searchTokens(after.name as string, after.code as string);
  await updateCustomer(ctx.tenant, before, { set, remove: [], tokens }, [
    auditPut(ctx.tenant, {
      at,
      actor: ctx.caller.userId,
      action: "update",
      entityType: "customer",
      entityId: before.id,
      before: beforeImage,
      after,
      requestId: ctx.jobId,
    }),
  ]);
  return { outcome: "updated", customerId: before.id };
}
