// Point-in-time restore of one customer: its profile and its contacts, orders and interactions as they were at `at`,
// rebuilt from the latest backup taken before `at` plus the audit entries written after that backup up to `at` (each
// holds the full after image; a delete holds none), then written back as audited changes: the profile as an ordinary
// PATCH (guards, search tokens and indexes move as for any PATCH), the children in transactions of a few dozen items,
// each with its own audit entry, the customer's stats and the sales rollup cells moved by exactly what it changes.
// adapter --> (use case) --> domain & repositories
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { Caller } from "../../auth/claims.ts";
import { type GuardedItem, MAX_TRANSACTION_ITEMS, transact } from "../../db/transact.ts";
import { ConflictError, NotFoundError, UnprocessableError } from "../../http/errors.ts";
import { AUDIT_CHAINS, type AuditEntry, auditOfChildren, auditPut, queryAudit } from "../audit/audit.ts";
import { reclassify } from "../classification/service.ts";
import { customerKeys } from "../customers/keys.ts";
import { KEY_ATTRIBUTES } from "./codec.ts";
import { type CustomerItem, getCustomerItem, readCollection, toCustomer } from "../customers/repository.ts";
import type { OrderRecord } from "../orders/present.ts";
import { cellUpdates, keysOf, type RollupKeys } from "../orders/rollups.ts";
import { type Customer, CustomerPatchSchema } from "../customers/schemas.ts";
import { getCustomer, patchCustomer, restoreCustomer } from "../customers/service.ts";
import { recompute as interactionTally } from "../interactions/stats.ts";
import type { Interaction } from "../interactions/schemas.ts";
import { requireAdmin, resolveViewer } from "../org/viewer.ts";
import { canonicalJson, decodeChunk, type RawItem, str } from "./codec.ts";
import { backupObjects as O } from "./keys.ts";
import {
  type BackupItem,
  type ChildKind,
  childWrite,
  getObjectBytes,
  listBackupItems,
  profileDerived,
} from "./repository.ts";

/** Profile fields a point-in-time restore sets back (what a PATCH may change). */
const RESTORABLE = Object.keys(CustomerPatchSchema.def.shape ?? {}).filter((k) => k !== "version");

const CHILD_KINDS: readonly ChildKind[] = ["contact", "order", "interaction"];
const isChild = (e: unknown): e is ChildKind => CHILD_KINDS.includes(e as ChildKind);

/**
 * Actions of one restore transaction for the children (item, order pointer, audit entry, sales cells); the profile's
 * update and up to AUDIT_CHAINS chain heads join them, within DynamoDB's 100.
 */
const MAX_CHILD_ACTIONS = MAX_TRANSACTION_ITEMS - 1 - AUDIT_CHAINS - 6;

type Image = Record<string, unknown>;

/** Attributes that are not part of a child's state: keys, bookkeeping, and dimensions frozen when it was written. */
const NOT_STATE = new Set<string>([...KEY_ATTRIBUTES, "entity", "version", "updatedAt", "updatedBy", "dims", "rollup"]);
/** A child's state as canonical JSON (keys sorted at every level: a backup's image and a live one compare equal). */
const stateOf = (i: Image | null | undefined) =>
  i ? canonicalJson(Object.fromEntries(Object.entries(i).filter(([k]) => !NOT_STATE.has(k)))) : null;
const withoutKeys = (i: Image): Image =>
  Object.fromEntries(Object.entries(i).filter(([k]) => !/^(PK|SK|GSI\d(PK|SK)|entity)$/.test(k)));

/** The customer's profile and children as a backup holds them. */
async function customerInBackup(
  tenant: string,
  b: BackupItem,
  id: string,
): Promise<{ profile: Image | null; children: Map<string, { kind: ChildKind; image: Image }> }> {
  const pk = customerKeys.pk(tenant, id);
  let profile: Image | null = null;
  const children = new Map<string, { kind: ChildKind; image: Image }>();
  for (const c of b.chunks) {
    for (const it of decodeChunk(await getObjectBytes(O.chunk(tenant, b.id, c.name))) as RawItem[]) {
      if (str(it, "PK") !== pk) continue;
      const entity = str(it, "entity");
      if (str(it, "SK") === customerKeys.profileSk()) profile = { ...toCustomer(unmarshall(it)) } as Image;
      else if (isChild(entity)) {
        const image = withoutKeys(unmarshall(it));
        children.set(image.id as string, { kind: entity, image });
      }
    }
  }
  return { profile, children };
}

/** Every audit entry of the customer itself in (from, to], oldest first. */
async function entriesBetween(tenant: string, id: string, from: string, to: string): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await queryAudit(tenant, { entityId: id, from, to, limit: 200, cursor });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out.filter((e) => e.entityType === "customer" && e.at > from && e.at <= to).sort(byTime);
}

const byTime = (a: AuditEntry, b: AuditEntry) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.id < b.id ? -1 : 1);

/** One child as it is now and as it is to be; `version` is the highest the child ever had (the restore writes +1). */
interface ChildChange {
  kind: ChildKind;
  id: string;
  live: Image | undefined;
  target: Image | null;
  version: number;
}

/** What one child contributes to the customer's stats (the same numbers its writes ADD, summed over its history). */
function statsOf(kind: ChildKind, i: Image | null | undefined): Record<string, number> {
  if (!i) return {};
  if (kind === "contact") return { contactCount: 1 };
  if (kind === "order") {
    const approved = Boolean(i.approvedAt);
    const counted = approved && i.status !== "cancelled";
    const amount = Number(i.amount ?? 0);
    const returned = Number(i.returnedAmount ?? 0);
    const paid = Number(i.paidAmount ?? 0);
    return {
      approvals: approved ? 1 : 0,
      orderCount: counted ? 1 : 0,
      totalAmount: counted ? amount : 0,
      returnedAmount: returned,
      paidAmount: paid,
      receivable: (counted ? amount : 0) - returned - paid,
    };
  }
  const t = interactionTally([i as unknown as Interaction]);
  return {
    interactionCount: t.interactions,
    surveyCount: t.surveys,
    surveyScoreSum: t.scoreSum,
    openComplaints: t.openComplaints,
  };
}

/** What an order adds to the sales rollup cells: its booked revenue (approved, not cancelled, less returns). */
function salesOf(o: Image | null | undefined): { revenue: number; orders: number } {
  const counted = Boolean(o?.approvedAt) && o?.status !== "cancelled";
  if (!o || !counted) return { revenue: 0, orders: 0 };
  return { revenue: Number(o.amount ?? 0) - Number(o.returnedAmount ?? 0), orders: 1 };
}

/** The sales cells an order's restore moves, under the keys frozen at its approval. */
function salesCells(tenant: string, customer: CustomerItem, c: ChildChange): GuardedItem[] {
  const after = salesOf(c.target);
  const before = salesOf(c.live);
  const delta = { revenue: after.revenue - before.revenue, orders: after.orders - before.orders };
  if (delta.revenue === 0 && delta.orders === 0) return [];
  const o = (c.target ?? c.live)!;
  const keys = (c.target?.rollup ?? c.live?.rollup ?? keysOf(o as unknown as OrderRecord, customer)) as RollupKeys;
  return cellUpdates(tenant, keys, customer.id, customer.name, delta);
}

/** One update per cell: a transaction may not touch an item twice, so the moves of one cell are summed. */
function mergeCells(cells: GuardedItem[]): GuardedItem[] {
  const byKey = new Map<string, GuardedItem>();
  for (const cell of cells) {
    const u = cell.item.Update!;
    const key = JSON.stringify(u.Key);
    const seen = byKey.get(key);
    if (!seen) {
      byKey.set(key, { item: { Update: { ...u, ExpressionAttributeValues: { ...u.ExpressionAttributeValues } } } });
      continue;
    }
    const v = seen.item.Update!.ExpressionAttributeValues!;
    v[":r"] = Number(v[":r"]) + Number(u.ExpressionAttributeValues![":r"]);
    v[":n"] = Number(v[":n"]) + Number(u.ExpressionAttributeValues![":n"]);
  }
  return [...byKey.values()];
}

function statsDelta(c: ChildChange): Record<string, number> {
  const out: Record<string, number> = {};
  const after = statsOf(c.kind, c.target);
  const before = statsOf(c.kind, c.live);
  for (const k of new Set([...Object.keys(after), ...Object.keys(before)])) {
    out[k] = (after[k] ?? 0) - (before[k] ?? 0);
  }
  return out;
}

/**
 * The children at `when`: the backup's, then each child entry in (backup start, when] applied in order (its after
 * image, or gone on a delete). A contact that becomes primary demotes the others, as the write did (the demotion
 * itself is not an entry of its own). Also the highest version each child reached, entries after `when` included.
 */
function childrenAt(
  base: Map<string, { kind: ChildKind; image: Image }>,
  entries: AuditEntry[],
  when: string,
): { target: Map<string, { kind: ChildKind; image: Image | null }>; versions: Map<string, number> } {
  const target = new Map<string, { kind: ChildKind; image: Image | null }>(
    [...base].map(([id, c]) => [id, { kind: c.kind, image: { ...c.image } }]),
  );
  const versions = new Map<string, number>();
  for (const [id, c] of base) versions.set(id, Number(c.image.version ?? 0));
  for (const e of entries) {
    if (!isChild(e.entityType)) continue;
    const v = Math.max(Number(e.after?.version ?? 0), Number(e.before?.version ?? 0));
    versions.set(e.entityId, Math.max(versions.get(e.entityId) ?? 0, v));
    if (e.at > when) continue;
    const after = e.after ? { ...e.after } : null;
    target.set(e.entityId, { kind: e.entityType, image: after });
    if (e.entityType === "contact" && after?.isPrimary) {
      for (const [id, c] of target) {
        if (id !== e.entityId && c.kind === "contact" && c.image?.isPrimary) c.image = { ...c.image, isPrimary: false };
      }
    }
  }
  return { target, versions };
}

/** The latest of a field over some images, or null. */
const latest = (images: Image[], field: string): string | null =>
  images
    .map((i) => i[field])
    .filter((v): v is string => typeof v === "string")
    .sort()
    .at(-1) ?? null;
const earliest = (images: Image[], field: string): string | null =>
  images
    .map((i) => i[field])
    .filter((v): v is string => typeof v === "string")
    .sort()[0] ?? null;

/**
 * POST /v1/customers/{id}/restore?at= (admin): the customer's profile, contacts, orders and interactions return to
 * their state at `at`: children created since are deleted, children deleted since come back, changed ones are set
 * back; every change is audited (`action: "restore"`). 422 when no backup was taken before `at`; 409 when the
 * customer did not exist or was in the recycle bin at `at`, or when something changed under the restore (a rerun
 * carries on: it compares with the live items, so what is already restored is left alone).
 */
export async function restoreCustomerAt(caller: Caller, id: string, at: Date, requestId?: string): Promise<Customer> {
  requireAdmin(await resolveViewer(caller));
  const tenant = caller.tenant;
  const when = at.toISOString();
  const current = await getCustomerItem(tenant, id);
  if (!current) throw new NotFoundError(`customer ${id} not found`);
  const base = (await listBackupItems(tenant)).find(
    (b) => b.status === "succeeded" && (b.startedAt ?? b.createdAt) <= when,
  );
  if (!base) throw new UnprocessableError(`no backup was taken before ${when}; nothing to restore from`);
  const from = base.startedAt ?? base.createdAt;

  const inBackup = await customerInBackup(tenant, base, id);
  let image = inBackup.profile;
  for (const e of await entriesBetween(tenant, id, from, when)) image = e.after;
  if (!image) throw new ConflictError(`customer ${id} did not exist at ${when}`);
  if (image.deletedAt) throw new ConflictError(`customer ${id} was in the recycle bin at ${when}`);

  await restoreProfile(caller, id, image, current.deletedAt !== undefined, when, requestId);
  await restoreChildren(caller, id, inBackup.children, from, when, requestId);
  await reclassify(tenant, id);
  return getCustomer(caller, id);
}

async function restoreProfile(
  caller: Caller,
  id: string,
  image: Image,
  inBin: boolean,
  when: string,
  requestId: string | undefined,
): Promise<void> {
  if (inBin) await restoreCustomer(caller, id, requestId);
  const now = toCustomer((await getCustomerItem(caller.tenant, id))!) as unknown as Image;
  const patch: Image = {};
  for (const k of RESTORABLE) {
    const then = image[k] ?? null;
    if (JSON.stringify(then) !== JSON.stringify(now[k] ?? null)) patch[k] = then;
  }
  if (Object.keys(patch).length === 0) return;
  const parsed = CustomerPatchSchema.safeParse(patch);
  if (!parsed.success) throw new ConflictError(`customer ${id}'s state at ${when} cannot be written back`);
  await patchCustomer(caller, id, parsed.data, now.version as number, requestId);
}

async function restoreChildren(
  caller: Caller,
  id: string,
  base: Map<string, { kind: ChildKind; image: Image }>,
  from: string,
  when: string,
  requestId: string | undefined,
): Promise<void> {
  const tenant = caller.tenant;
  const entries = (await auditOfChildren(tenant, id, from)).sort(byTime);
  const { target, versions } = childrenAt(base, entries, when);
  const live = new Map<string, { kind: ChildKind; image: Image }>();
  for (const it of await readCollection(tenant, id)) {
    if (isChild(it.entity)) live.set(it.id as string, { kind: it.entity, image: withoutKeys(it) });
  }

  const changes: ChildChange[] = [];
  for (const childId of new Set([...target.keys(), ...live.keys()])) {
    const t = target.get(childId);
    const l = live.get(childId);
    const kind = (t?.kind ?? l?.kind)!;
    if (stateOf(t?.image) === stateOf(l?.image)) continue;
    const version = Math.max(versions.get(childId) ?? 0, Number(l?.image.version ?? 0));
    changes.push({ kind, id: childId, live: l?.image, target: t?.image ?? null, version });
  }

  const at = new Date().toISOString();
  const customer = (await getCustomerItem(tenant, id))!;
  let pending: { items: GuardedItem[]; cells: GuardedItem[]; add: Record<string, number>; actions: number } = {
    items: [],
    cells: [],
    add: {},
    actions: 0,
  };
  const flush = async () => {
    if (!pending.items.length) return;
    const stats = profileDerived(tenant, id, { add: pending.add });
    await transact([...(stats ? [stats] : []), ...pending.items, ...mergeCells(pending.cells)]);
    pending = { items: [], cells: [], add: {}, actions: 0 };
  };
  for (const c of changes) {
    const after = c.target && {
      ...c.target,
      // Bookkeeping moves forward: the restore is a new version of the child, made now by the caller.
      ...(c.live?.dims ? { dims: c.live.dims } : {}),
      ...(c.target.rollup || c.live?.rollup ? { rollup: c.target.rollup ?? c.live?.rollup } : {}),
      version: c.version + 1,
      updatedAt: at,
      updatedBy: caller.userId,
    };
    const liveVersion = c.live ? Number(c.live.version) : undefined;
    const items = [
      ...childWrite(tenant, id, c.kind, c.id, after, liveVersion),
      auditPut(tenant, {
        at,
        actor: caller.userId,
        action: "restore",
        entityType: c.kind,
        entityId: c.id,
        parentId: id,
        before: c.live ?? null,
        after,
        requestId,
      }),
    ];
    const cells = c.kind === "order" ? salesCells(tenant, customer, c) : [];
    if (pending.actions + items.length + cells.length > MAX_CHILD_ACTIONS) await flush();
    pending.items.push(...items);
    pending.cells.push(...cells);
    pending.actions += items.length + cells.length;
    for (const [k, v] of Object.entries(statsDelta(c))) pending.add[k] = (pending.add[k] ?? 0) + v;
  }
  await flush();

  // Fields of the profile that follow from the children (set, not moved, so a rerun leaves them as they are).
  const restored = [...target.values()].filter((c) => c.image);
  const of = (kind: ChildKind) => restored.filter((c) => c.kind === kind).map((c) => c.image!);
  const approved = of("order").filter((o) => o.approvedAt);
  const primary = of("contact").find((c) => c.isPrimary);
  const derived = profileDerived(tenant, id, {
    top: { primaryContactId: (primary?.id as string | undefined) ?? null },
    stats: {
      lastOrderAt: latest(approved, "approvedAt"),
      firstOrderAt: earliest(approved, "approvedAt"),
      lastInteractionAt: latest(of("interaction"), "at"),
    },
  });
  if (derived) await transact([derived]);
}
