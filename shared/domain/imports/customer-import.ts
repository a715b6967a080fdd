// One chunk of a customer import: rows validated with the API's own schema, grouped by the match key, looked up in
// batches (guard items for code and USCC, the search index for name+phone, profiles with one consistent BatchGetItem),
// planned (insert, update, skip or fail, exactly like the API's create and PATCH), then written in groups.
//
// Write path. The conditional items of a row (its profile with `attribute_not_exists(PK)` or a version check, its
// code and USCC guards with `attribute_not_exists(PK)`) and its audit entry go into one TransactWriteItems together
// with those of other rows of the chunk whose audit entries join the same hash chain (so each group moves one chain
// head, and groups of different chains never contend). A group is at most MAX_GROUP_ROWS rows and 100 items. When a
// group is cancelled (a guard taken meanwhile by an API write, a version moved), each of its rows is read again and
// written alone in its own transaction, as the API does. A row's search-index items need no condition: they go out
// with BatchWriteItem once the chunk's groups are written (unprocessed items retried with back-off).
//
// Classification. A new customer is classified in its insert transaction: its profile carries its categories, value
// score and classification snapshot from its first write, and its membership items, history entry and distribution
// cell moves (one ADD per cell for the whole group) go with it, so an insert writes its profile once and needs no
// reclassification after the chunk (updates still get one). Lanes never share a cell: cells are sharded by customer
// like the audit chains (when LIST_SHARDS is a multiple of AUDIT_CHAINS; otherwise inserts are reclassified after the
// chunk like updates). Re-plan markers: see writeReplanMarkers.
//
// Idempotency without a marker per row: every write of a chunk is deterministic and says which row made it.
// - An inserted customer's id is derived from (job, first row of its group), so inserting it again is refused by the
//   profile's `attribute_not_exists(PK)`, and a repeated chunk reads these ids first: it cannot create one twice.
// - Every customer an import writes carries `importMark = <jobId>#<row>#<outcome>` (row = the last row of its group),
//   written in the same transaction. A repeated chunk that finds its own mark counts the recorded outcome again and
//   writes nothing but the search-index items again (a crash may have come between the group and them). Counts are
//   only stored with the chunk's checkpoint, so each row is counted exactly once.
import { createHash } from "node:crypto";
import type { Caller } from "../../auth/claims.ts";
import { env } from "../../config/env.ts";
import { AppError, ConflictError, ValidationError } from "../../http/errors.ts";
import { auditPut } from "../audit/audit.ts";
import { MAX_TRANSACTION_ITEMS, type GuardedItem } from "../../db/transact.ts";
import { chainOf, type HeadMemo } from "../audit/chain.ts";
import { pool, settledPool } from "../../db/pool.ts";
import { AUDIT_CHAINS } from "../audit/keys.ts";
import { planReconcile } from "../classification/engine.ts";
import {
  type CellWrite,
  type ClassConfig,
  cellId,
  cellUpdates,
  classificationFields,
  sideWrites,
} from "../classification/repository.ts";
import { configOf } from "../classification/service.ts";
import { customerKeys } from "../customers/keys.ts";
import {
  type CustomerItem,
  getCustomerItem,
  insertItems,
  newProfileItem,
  searchCustomers,
  searchItems,
  toCustomer,
  updateItems,
} from "../customers/repository.ts";
import { departmentFields, newCustomer, nextCustomerCode } from "../customers/new-customer.ts";
import { type Customer, type CustomerCreate, CustomerCreateSchema } from "../customers/schemas.ts";
import { getUserRecord } from "../org/repository.ts";
import { classificationReplan, replanMarker, rulesToken } from "../reminders/repository.ts";
import { guardSensitive } from "../org/sensitive.ts";
import { canSee, type Viewer } from "../org/viewer.ts";
import { getSettings, type Settings } from "../settings/settings.ts";
import { normalizeQuery, searchTokens } from "../validation/index.ts";
import { batchGet, guardOwners, putIndexItems, writeGroup } from "./repository.ts";
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
  /** An insert classified in its own transaction: the chunk's reclassification leaves it alone. */
  classified?: boolean;
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
  /** Chain heads the run's own group transactions moved last: a lane's next group starts from them (chain.ts). */
  heads?: HeadMemo;
  /** How the chunk classifies the customers it inserts (undefined: after the chunk, as updates are). */
  classify?: InsertClassification;
}

/** The classification an insert writes with itself: the tenant's schemes and whether re-plan markers go with it. */
export interface InsertClassification {
  config: ClassConfig;
  /** An enabled reminder rule selects by category: every insert writes its re-plan marker. */
  markers: boolean;
  /** The rules token that decision was made from: when it has moved by the end of the chunk, markers are written. */
  token: string | undefined;
}

/**
 * The chunk's {@link InsertClassification}, read fresh; undefined when inserts cannot be classified in their own
 * transactions: lanes (one per audit chain) must never share a distribution cell, which holds only when every list
 * shard belongs to one chain (LIST_SHARDS a multiple of AUDIT_CHAINS, both hashing the customer id).
 */
export async function insertClassification(tenant: string): Promise<InsertClassification | undefined> {
  if (env.LIST_SHARDS % AUDIT_CHAINS !== 0) return undefined;
  const [config, replan] = await Promise.all([configOf(tenant, true), classificationReplan(tenant)]);
  return { config, markers: replan.markers, token: replan.token };
}

/** Parallel writes within a chunk (groups have distinct keys, so they never touch the same customer). */
export const WRITE_CONCURRENCY = 8;
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

interface Group {
  key: string;
  rows: ImportRow[];
  fields: Partial<CustomerCreate>;
}

/** Rows of one TransactWriteItems group at most (its items stay below 100 with the chain head). */
export const MAX_GROUP_ROWS = 24;
/** Groups written at once (at most one per audit chain, so they never contend for a chain head). */
export const GROUP_CONCURRENCY = 8;
/** Items of one group at most: DynamoDB's 100 less the chain head the audit entries move. */
const MAX_GROUP_ITEMS = MAX_TRANSACTION_ITEMS - 1;

type Outcome = Omit<RowResult, "line">;

/** What a group of rows comes to: its result, and the items to write for it (none for a skip, a failure, a dry run). */
interface Plan {
  result: Outcome;
  /** The conditional items and the audit entry, for one transaction. */
  items?: GuardedItem[];
  /** Search-index items of the customer, written with BatchWriteItem after the transaction. */
  index?: Record<string, unknown>[];
  /** Distribution cell moves of an insert that classifies itself, summed per cell in its transaction. */
  cells?: CellWrite[];
  /**
   * The customer's re-plan marker still to write after the chunk's transactions: `always` (an insert an earlier
   * attempt wrote, whose decision is unknown), or `ifRulesMoved` (an insert decided without markers, should the
   * reminder rules have changed since).
   */
  replan?: "always" | "ifRulesMoved";
}

interface Guards {
  codes: Map<string, string>;
  usccs: Map<string, string>;
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
  if (!ctx.dryRun) ctx.classify = await insertClassification(ctx.tenant);
  const outcomes = await writeGroups(ctx, list);
  for (const g of list) {
    const r = outcomes.get(g)!;
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
  }
  return rows.map((r) => results.get(r.line)!);
}

/** The id an insert of this group gets: the same on every attempt of the chunk. */
const insertIdOf = (ctx: ChunkContext, g: Group) => derivedId(ctx.jobCreatedMs, `${ctx.jobId}#${g.rows[0]!.line}`);

/** Profiles by id, read consistently (a repeated chunk must see what its earlier attempt wrote). */
async function readProfiles(tenant: string, ids: Iterable<string>): Promise<Map<string, CustomerItem>> {
  const keys = [...new Set(ids)].map((id) => ({ PK: customerKeys.pk(tenant, id), SK: customerKeys.profileSk() }));
  const found = await batchGet(keys);
  return new Map(found.map((i) => [i.id as string, i as CustomerItem]));
}

/** Turns an error a row caused into its failed outcome; anything else (infrastructure) is thrown. */
export function rowFailure(err: unknown): Outcome {
  if (!(err instanceof AppError)) throw err;
  const e = err.errors?.[0];
  return { outcome: "failed", error: { column: e?.path ?? "", message: e?.message ?? err.message } };
}

/** Plans every group, writes the plans in groups per audit chain, then the search-index items. */
async function writeGroups(ctx: ChunkContext, list: Group[]): Promise<Map<Group, Outcome>> {
  const codes = list.flatMap((g) => (g.fields.code ? [g.fields.code] : []));
  const usccs = list.flatMap((g) => (g.fields.uscc ? [g.fields.uscc] : []));
  const guards = await guardOwners(ctx.tenant, codes, usccs);
  const matched = new Map<Group, string>();
  await pool(list, WRITE_CONCURRENCY, async (g) => {
    const id = await lookup(ctx, g, guards);
    if (id) matched.set(g, id);
  });
  // A guard held by the id this group's insert takes was written by an earlier attempt of this chunk (whatever the
  // match key: with name+phone the search index may not list that customer yet).
  for (const g of list) {
    if (matched.has(g)) continue;
    const id = insertIdOf(ctx, g);
    const code = g.fields.code?.toUpperCase();
    if ((code && guards.codes.get(code) === id) || (g.fields.uscc && guards.usccs.get(g.fields.uscc) === id)) {
      matched.set(g, id);
    }
  }
  // The ids an insert would take are read too (a profile there was written by an earlier attempt of this chunk), but
  // only for groups without a code or USCC: otherwise the guard written with that profile has been read already. (A
  // profile whose code was changed since is refused by `attribute_not_exists(PK)`, and its row written alone.)
  const profiles = await readProfiles(ctx.tenant, [
    ...matched.values(),
    ...list.filter((g) => !matched.has(g) && !g.fields.code && !g.fields.uscc).map((g) => insertIdOf(ctx, g)),
  ]);
  const plans = new Map<Group, Plan>();
  await pool(list, WRITE_CONCURRENCY, async (g) => {
    const existing = profiles.get(matched.get(g) ?? insertIdOf(ctx, g));
    try {
      plans.set(g, await planGroup(ctx, g, existing, guards));
    } catch (err) {
      plans.set(g, { result: rowFailure(err) });
    }
  });

  const outcomes = new Map<Group, Outcome>();
  const index: Record<string, unknown>[] = [];
  const replans: Plan[] = [];
  const done = (g: Group, p: Plan) => {
    outcomes.set(g, p.result);
    if (p.index) index.push(...p.index);
    if (p.replan) replans.push(p);
  };
  // Two plans touching the same item (two rows of the chunk claiming one USCC) cannot share a transaction, and only
  // one of them can win: those are written alone, after the groups, each against what is then stored.
  const touched = new Map<string, number>();
  for (const p of plans.values()) for (const k of itemKeys(p.items ?? [])) touched.set(k, (touched.get(k) ?? 0) + 1);
  const alone: Group[] = [];
  const lanes = new Map<number, Group[]>();
  for (const [g, p] of plans) {
    if (!p.items) done(g, p);
    else if (itemKeys(p.items).some((k) => touched.get(k)! > 1)) alone.push(g);
    else {
      const chain = chainOf(p.result.customerId!);
      lanes.set(chain, [...(lanes.get(chain) ?? []), g]);
    }
  }
  await settledPool([...lanes.values()], GROUP_CONCURRENCY, async (lane) => {
    for (const group of packs(lane.map((g) => [g, plans.get(g)!] as const))) {
      try {
        await writeGroup(groupItems(group.map(([, p]) => p)));
        for (const [g, p] of group) done(g, p);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        // Cancelled: some row's guard or version moved since it was read. Each row is read and written again alone,
        // one after the other (they share this lane's chain head, so in parallel they would only contend for it).
        for (const [g] of group) done(g, await writeAlone(ctx, g));
      }
    }
  });
  for (const g of alone) done(g, await writeAlone(ctx, g));
  if (index.length) await putIndexItems(index);
  await writeReplanMarkers(ctx, replans);
  return outcomes;
}

/**
 * The re-plan markers of inserts that went without them. Inserts decided from rules that select by no category skip
 * the rules check their transactions would all share (and contend for): instead the rules token is read again once
 * they are written, and when a rule was written since, every such insert gets its marker now. A rule written after
 * that read plans every customer from the start anyway, these included.
 */
async function writeReplanMarkers(ctx: ChunkContext, plans: Plan[]): Promise<void> {
  if (!plans.length) return;
  const moved =
    plans.some((p) => p.replan === "ifRulesMoved") && (await rulesToken(ctx.tenant)) !== ctx.classify?.token;
  const at = new Date().toISOString();
  const markers = plans
    .filter((p) => p.replan === "always" || moved)
    .map((p) => replanMarker(ctx.tenant, p.result.customerId!, at).item.Put!.Item!);
  if (markers.length) await putIndexItems(markers);
}

/** A transaction's items for plans written together: their own items, and one ADD per distribution cell they move. */
function groupItems(plans: readonly Plan[]): GuardedItem[] {
  return [...plans.flatMap((p) => p.items ?? []), ...cellUpdates(plans.flatMap((p) => p.cells ?? []))];
}

/** `PK|SK` of every item a plan writes (its audit entries apart: their keys are unique ids). */
function itemKeys(items: GuardedItem[]): string[] {
  return items.flatMap((i) => {
    if (i.deferred) return [];
    const t = i.item;
    const key = (t.Put?.Item ?? t.Update?.Key ?? t.Delete?.Key ?? t.ConditionCheck?.Key) as
      Record<string, unknown> | undefined;
    return key ? [`${String(key.PK)}|${String(key.SK)}`] : [];
  });
}

/**
 * Consecutive runs of `list` of at most MAX_GROUP_ROWS plans and MAX_GROUP_ITEMS items, each distinct distribution
 * cell counted once (the plans of a run share one ADD per cell).
 */
function packs<T>(list: readonly (readonly [T, Plan])[]): (readonly [T, Plan])[][] {
  const out: (readonly [T, Plan])[][] = [];
  let cur: (readonly [T, Plan])[] = [];
  let items = 0;
  let cells = new Set<string>();
  for (const entry of list) {
    const [, p] = entry;
    const n = p.items!.length;
    const next = new Set(cells);
    for (const c of p.cells ?? []) next.add(cellId(c));
    if (cur.length && (cur.length >= MAX_GROUP_ROWS || items + n + next.size > MAX_GROUP_ITEMS)) {
      out.push(cur);
      cur = [];
      items = 0;
      cells = new Set((p.cells ?? []).map(cellId));
    } else cells = next;
    cur.push(entry);
    items += n;
  }
  if (cur.length) out.push(cur);
  return out;
}

const MAX_ALONE_ATTEMPTS = 6;
/** Refusals that reading again resolves: the state the plan was made from moved under it. */
const moved = (err: unknown) =>
  err instanceof ConflictError &&
  /try again|already used by another customer|already exists|changed by someone else|changed meanwhile/.test(
    err.message,
  );

/**
 * One group read afresh (its guards, the customer its key names, the profile its insert would create) and written in
 * its own transaction: the path of a row whose group was cancelled, or which shares an item with another row.
 */
async function writeAlone(ctx: ChunkContext, g: Group): Promise<Plan> {
  for (let attempt = 1; ; attempt++) {
    try {
      const guards = await guardOwners(
        ctx.tenant,
        g.fields.code ? [g.fields.code] : [],
        g.fields.uscc ? [g.fields.uscc] : [],
      );
      const id = (await lookup(ctx, g, guards)) ?? insertIdOf(ctx, g);
      const existing = await getCustomerItem(ctx.tenant, id);
      const plan = await planGroup(ctx, g, existing, guards);
      if (plan.items) await writeGroup(groupItems([plan]));
      return plan;
    } catch (err) {
      if (moved(err) && attempt < MAX_ALONE_ATTEMPTS) {
        await new Promise((res) => setTimeout(res, 20 * 2 ** attempt * (0.5 + Math.random())));
        continue;
      }
      if (busy(err)) throw err;
      return { result: rowFailure(err) };
    }
  }
}

/** The id of the existing customer the group's key names, if any. */
async function lookup(ctx: ChunkContext, g: Group, guards: Guards): Promise<string | undefined> {
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

/**
 * What the group comes to given `existing` (the customer its key names, or the profile its insert would create):
 * throws the domain error of a row the API would refuse.
 */
async function planGroup(
  ctx: ChunkContext,
  g: Group,
  existing: CustomerItem | undefined,
  guards: Guards,
): Promise<Plan> {
  // The group's other unique values must not belong to another customer (so a dry run reports it too).
  const taken = (label: string, holder: string | undefined) =>
    holder !== undefined && holder !== existing?.id ? label : undefined;
  const clash =
    (g.fields.code && taken("code", guards.codes.get(g.fields.code.toUpperCase()))) ||
    (g.fields.uscc && taken("uscc", guards.usccs.get(g.fields.uscc)));
  if (clash && !(ctx.mode === "insert" && existing)) {
    const value = clash === "code" ? g.fields.code : g.fields.uscc;
    return {
      result: { outcome: "failed", error: { column: clash, message: `${value} is already used by another customer` } },
    };
  }
  if (!existing) return planInsert(ctx, g);
  const ours = typeof existing.importMark === "string" && existing.importMark.startsWith(`${ctx.jobId}#`);
  if (ours && existing.importMark === mark(ctx, g, "inserted")) {
    // Written by an earlier attempt of this chunk, which may have stopped before the search-index items (and the
    // re-plan marker). The chunk's reclassification brings it up to date if that attempt did not classify it.
    return {
      result: { outcome: "inserted", customerId: existing.id },
      index: searchItems(ctx.tenant, existing.id, existing.searchTokens ?? []),
      replan: existing.cls === undefined ? undefined : "always",
    };
  }
  if (ours && existing.importMark === mark(ctx, g, "updated")) {
    return { result: { outcome: "updated", customerId: existing.id } };
  }
  if (existing.deletedAt) {
    return {
      result: {
        outcome: "failed",
        error: {
          column: ctx.matchOn,
          message: `matches customer ${existing.code} in the recycle bin; restore it first`,
        },
      },
    };
  }
  if (ctx.mode === "insert") return { result: { outcome: "skipped", customerId: existing.id } };
  if (!canSee(ctx.viewer, existing)) {
    return {
      result: {
        outcome: "failed",
        error: { column: ctx.matchOn, message: "matches a customer outside your data scope" },
      },
    };
  }
  return planUpdate(ctx, g, existing);
}

async function departmentOf(ctx: ChunkContext, ownerId: string) {
  const v = ctx.viewer;
  if (ownerId === v.userId) return departmentFields(v);
  let d = ctx.owners.get(ownerId);
  if (!d) {
    d = departmentFields((await getUserRecord(ctx.tenant, ownerId)) ?? v);
    ctx.owners.set(ownerId, d);
  }
  return d;
}

/** A new customer of the group, at the id derived from its first row. */
async function planInsert(ctx: ChunkContext, g: Group): Promise<Plan> {
  const id = insertIdOf(ctx, g);
  const input = CustomerCreateSchema.parse(g.fields);
  guardSensitive(ctx.viewer, input, undefined);
  if (ctx.dryRun) return { result: { outcome: "inserted", customerId: id } };
  const ownerId = input.ownerId ?? ctx.caller.userId;
  const dept = await departmentOf(ctx, ownerId);
  const now = new Date();
  let code = input.code;
  if (!code) code = await nextCustomerCode(ctx.tenant, (ctx.settings ??= await getSettings(ctx.tenant)), now);
  const at = now.toISOString();
  const customer: Customer & { importMark: string } = {
    ...newCustomer(input, { id, code, ownerId, dept, at, by: ctx.caller.userId }),
    importMark: mark(ctx, g, "inserted"),
  };
  const tokens = searchTokens(customer.name, customer.code);
  const cls = ctx.classify && classifyNew(ctx.tenant, ctx.classify, customer, tokens, at);
  return {
    result: { outcome: "inserted", customerId: id, ...(cls && { classified: true }) },
    items: [
      auditPut(
        ctx.tenant,
        {
          at,
          actor: ctx.caller.userId,
          action: "create",
          entityType: "customer",
          entityId: id,
          before: null,
          after: { ...toCustomer(customer) },
          requestId: ctx.jobId,
        },
        ctx.heads,
      ),
      ...insertItems(ctx.tenant, cls ? { ...customer, ...cls.fields } : customer, tokens, false),
      ...(cls?.own ?? []),
    ],
    index: searchItems(ctx.tenant, id, tokens),
    cells: cls?.cells,
    replan: cls && !ctx.classify!.markers ? "ifRulesMoved" : undefined,
  };
}

/**
 * A new customer's classification, planned from its profile as the insert writes it: the classification fields the
 * profile carries from its first write, and the items that go with them in the same transaction (membership, history,
 * the re-plan marker when rules ask for it) and the distribution cells it enters.
 */
function classifyNew(tenant: string, c: InsertClassification, customer: Customer, tokens: string[], at: string) {
  const plan = planReconcile(
    newProfileItem(tenant, customer, tokens),
    c.config.schemes,
    c.config.model,
    Date.parse(at),
  );
  if (!plan) return undefined; // never: a profile without a classification snapshot always gets a plan
  const side = sideWrites(tenant, customer.id, plan, at, c.markers);
  return { fields: classificationFields(plan), own: side.own, cells: side.cells };
}

/** The group's changes to an existing customer (only the fields that differ), or a skip when nothing differs. */
async function planUpdate(ctx: ChunkContext, g: Group, before: CustomerItem): Promise<Plan> {
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
  if (!Object.keys(set).length) return { result: { outcome: "skipped", customerId: before.id } };
  if (ctx.dryRun) return { result: { outcome: "updated", customerId: before.id } };
  if (typeof set.ownerId === "string") Object.assign(set, await departmentOf(ctx, set.ownerId));
  const at = new Date().toISOString();
  Object.assign(set, { version: before.version + 1, updatedAt: at, updatedBy: ctx.caller.userId });
  const beforeImage = { ...toCustomer(before) } as Record<string, unknown>;
  const after: Record<string, unknown> = { ...beforeImage, ...set };
  const tokens = searchTokens(after.name as string, after.code as string);
  // The search tokens move inside the transaction: an update must not leave tokens of the old name behind.
  const items = updateItems(ctx.tenant, before, {
    set: { ...set, importMark: mark(ctx, g, "updated") },
    remove: [],
    tokens,
  });
  return {
    result: { outcome: "updated", customerId: before.id },
    items: [
      auditPut(
        ctx.tenant,
        {
          at,
          actor: ctx.caller.userId,
          action: "update",
          entityType: "customer",
          entityId: before.id,
          before: beforeImage,
          after,
          requestId: ctx.jobId,
        },
        ctx.heads,
      ),
      ...items,
    ],
  };
}
