// Customer use cases: create (numbered, unique, idempotent), read, update with optimistic locking, bin and restore,
// list/search and the 360 view. Every write carries its audit entry in the same transaction.
// adapter --> (use case) --> domain & repositories
import type { Caller } from "../../auth/claims.ts";
import { decodeCursor, encodeCursor } from "../../db/cursor.ts";
import { newId } from "../../db/ids.ts";
import type { ShardCursor } from "../../db/sharded.ts";
import { ConflictError, NotFoundError, ValidationError } from "../../http/errors.ts";
import { type AuditAction, auditPut } from "../audit/audit.ts";
import { toContact } from "../contacts/repository.ts";
import { type IdempotencyContext, once } from "../idempotency/idempotency.ts";
import { latestInteractions, presentInteractionStats } from "../interactions/view.ts";
import { classStateOf, customersInCategory, reclassify } from "../classification/service.ts";
import { readProfile } from "../classification/repository.ts";
import { STAGE_TRANSITIONS } from "../classification/engine.ts";
import { registerTenant } from "../tenants/registry.ts";
import { maskRecord } from "../org/masking.ts";
import { getUserRecord } from "../org/repository.ts";
import { guardSensitive } from "../org/sensitive.ts";
import { canSee, requireWrite, resolveViewer, resolveViewerWith, scopeConditions, type Viewer } from "../org/viewer.ts";
import { getSettings } from "../settings/settings.ts";
import { replanMarker } from "../reminders/repository.ts";
import { openTasksOf } from "../tasks/view.ts";
import { latestOrders, presentStats as presentOrderStats, receivablesOf } from "../orders/present.ts";
import { normalizeQuery, regionName, searchTokens } from "../validation/index.ts";
import { conditionsOf, matches } from "./filters.ts";
import { customerKeys } from "./keys.ts";
import { departmentFields, newCustomer, nextCustomerCode } from "./new-customer.ts";
import {
  binCustomer,
  type CustomerItem,
  insertCustomer,
  listAll,
  listByDepartment,
  listByOwner,
  newProfileItem,
  readCollection,
  searchCustomers,
  toCustomer,
  unbinCustomer,
  updateCustomer,
} from "./repository.ts";
import {
  CLEARABLE,
  type Customer,
  type CustomerCreate,
  type CustomerListQuery,
  type CustomerPatch,
} from "./schemas.ts";

/** The customer as this viewer may see it: sensitive fields masked without the permission, region name added. */
export function present(item: Record<string, unknown>, v: Viewer): Customer {
  const m = maskRecord(toCustomer(item), v.perms.viewSensitive);
  const c = m.stats ? { ...m, stats: presentInteractionStats(m.stats) } : m;
  const name = c.region ? regionName(c.region) : undefined;
  const out = name ? { ...c, regionName: name } : c;
  return out.stats ? { ...out, stats: presentOrderStats(out.stats) } : out;
}

/** A customer this viewer may see (live, unless `deleted`), or 404 — never a hint that it exists. */
async function requireVisible(v: Viewer, item: CustomerItem | undefined, id: string, deleted = false) {
  if (!item || !!item.deletedAt !== deleted || !canSee(v, item)) throw new NotFoundError(`customer ${id} not found`);
  return item;
}

/** The viewer and a customer read side by side (two independent requests in parallel). */
/** The viewer and the customer's profile, read in one request. */
async function viewerAnd(caller: Caller, id: string): Promise<{ v: Viewer; item: CustomerItem | undefined }> {
  const key = { PK: customerKeys.pk(caller.tenant, id), SK: customerKeys.profileSk() };
  const { viewer, items } = await resolveViewerWith(caller, [key]);
  return { v: viewer, item: items[0] as CustomerItem | undefined };
}

/** The viewer and a live customer it may see, or 404 (for the customer's children: contacts, later orders...). */
export async function visibleCustomer(caller: Caller, id: string): Promise<{ v: Viewer; customer: CustomerItem }> {
  const { v, item } = await viewerAnd(caller, id);
  return { v, customer: await requireVisible(v, item, id) };
}

/** The department a customer belongs to follows its owner: the owner's user record, else the viewer's own. */
async function departmentOf(v: Viewer, ownerId: string): Promise<{ deptId?: string; deptPath?: string }> {
  const owner = ownerId === v.userId ? undefined : await getUserRecord(v.tenant, ownerId);
  return departmentFields(owner ?? v);
}

/** The image kept in audit entries: the stored fields, without derived display fields. */
const image = (c: Customer) => ({ ...c }) as Record<string, unknown>;

/** The audit entry of one write to a customer, for the write's own transaction. */
const customerAudit = (
  caller: Caller,
  action: AuditAction,
  entityId: string,
  at: string,
  before: Record<string, unknown> | null,
  after: Record<string, unknown>,
  requestId: string | undefined,
) =>
  auditPut(caller.tenant, {
    at,
    actor: caller.userId,
    action,
    entityType: "customer",
    entityId,
    before,
    after,
    requestId,
  });

const MAX_AUTO_CODE_ATTEMPTS = 5;

/** Reclassifies a customer just written and returns its categories and value score for the response. */
async function classified(tenant: string, id: string, written?: CustomerItem): Promise<Partial<Customer>> {
  const state = await reclassify(tenant, id, written);
  if (state) return state;
  // The reclassification failed (logged): the response shows what is stored.
  const item = await readProfile(tenant, id);
  return item ? classStateOf(item) : {};
}

/** Creates a customer; numbers its code from the tenant's pattern when absent. Replays on a repeated key. */
export async function createCustomer(
  caller: Caller,
  input: CustomerCreate,
  idem: IdempotencyContext | undefined,
  requestId?: string,
) {
  const v = await resolveViewer(caller);
  requireWrite(v);
  guardSensitive(v, input, undefined);
  await registerTenant(caller.tenant);
  return once(idem, async (record) => {
    const settings = input.code ? undefined : await getSettings(caller.tenant);
    const ownerId = input.ownerId ?? caller.userId;
    const dept = await departmentOf(v, ownerId);
    for (let attempt = 1; ; attempt++) {
      const now = new Date();
      let code = input.code;
      if (!code) code = await nextCustomerCode(caller.tenant, settings!, now);
      const at = now.toISOString();
      const customer = newCustomer(input, { id: newId(now.getTime()), code, ownerId, dept, at, by: caller.userId });
      const body = present(customer, v);
      const result = { status: 201, body };
      const extras = [
        record(result),
        customerAudit(caller, "create", customer.id, at, null, image(customer), requestId),
      ].filter((x) => x !== undefined);
      try {
        const tokens = searchTokens(customer.name, customer.code);
        await insertCustomer(caller.tenant, customer, tokens, extras);
        Object.assign(
          body,
          await classified(caller.tenant, customer.id, newProfileItem(caller.tenant, customer, tokens)),
        );
        return result;
      } catch (err) {
        const codeTaken = err instanceof ConflictError && err.errors?.[0]?.path === "code";
        if (codeTaken && !input.code && attempt < MAX_AUTO_CODE_ATTEMPTS) continue;
        throw err;
      }
    }
  });
}

/** A live customer of the caller's tenant, or 404. */
export async function getCustomer(caller: Caller, id: string): Promise<Customer> {
  const { v, item } = await viewerAnd(caller, id);
  return present(await requireVisible(v, item, id), v);
}

/** Applies a PATCH if `expected` is still the customer's version. */
export async function patchCustomer(
  caller: Caller,
  id: string,
  patch: CustomerPatch,
  expected: number,
  requestId?: string,
): Promise<Customer> {
  const { v, item } = await viewerAnd(caller, id);
  requireWrite(v);
  const before = await requireVisible(v, item, id);
  if (before.version !== expected) {
    throw new ConflictError(`customer ${id} is at version ${before.version}, not ${expected}; read it again`);
  }
  const { version: _v, ...fields } = guardSensitive(v, patch, before);
  const set: Record<string, unknown> = {};
  const remove: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    if (v === null) {
      if ((CLEARABLE as readonly string[]).includes(k) && before[k] !== undefined) remove.push(k);
    } else if (JSON.stringify(v) !== JSON.stringify(before[k])) {
      set[k] = v;
    }
  }
  const type = (set.type as string | undefined) ?? before.type;
  const uscc = remove.includes("uscc") ? undefined : ((set.uscc as string | undefined) ?? before.uscc);
  if (type === "individual" && uscc) {
    throw new ValidationError("request body is invalid", [
      { path: "uscc", message: "a unified social credit code applies to enterprises" },
    ]);
  }
  if (typeof set.stage === "string" && !STAGE_TRANSITIONS[before.stage]?.includes(set.stage)) {
    throw new ConflictError(
      `a customer cannot move from stage ${before.stage} to ${set.stage}; from ${before.stage} it may move to ` +
        (STAGE_TRANSITIONS[before.stage] ?? []).join(", "),
    );
  }
  if (typeof set.ownerId === "string") Object.assign(set, await departmentOf(v, set.ownerId));
  if (!Object.keys(set).length && !remove.length) return present(before, v);
  const at = new Date().toISOString();
  Object.assign(set, { version: before.version + 1, updatedAt: at, updatedBy: caller.userId });
  const after: Record<string, unknown> = { ...toCustomer(before), ...set };
  for (const k of remove) delete after[k];
  const tokens = searchTokens(after.name as string, after.code as string);
  await updateCustomer(caller.tenant, before, { set, remove, tokens }, [
    customerAudit(caller, "update", id, at, image(toCustomer(before)), after, requestId),
    replanMarker(caller.tenant, id, at), // reminder rules look at the changed customer again on the next tick
  ]);
  return { ...present(after, v), ...(await classified(caller.tenant, id)) };
}

/** Moves a customer to the recycle bin (If-Match optional: when given it must be current). */
export async function deleteCustomer(
  caller: Caller,
  id: string,
  expected: number | undefined,
  requestId?: string,
): Promise<Customer> {
  const { v, item } = await viewerAnd(caller, id);
  requireWrite(v);
  const before = await requireVisible(v, item, id);
  if (expected !== undefined && before.version !== expected) {
    throw new ConflictError(`customer ${id} is at version ${before.version}, not ${expected}`);
  }
  const at = new Date().toISOString();
  const after = {
    ...toCustomer(before),
    deletedAt: at,
    deletedBy: caller.userId,
    updatedAt: at,
    updatedBy: caller.userId,
    version: before.version + 1,
  };
  await binCustomer(caller.tenant, before, { at, by: caller.userId }, [
    customerAudit(caller, "delete", id, at, image(toCustomer(before)), after, requestId),
  ]);
  await reclassify(caller.tenant, id);
  return present(after, v);
}

/** Brings a customer back from the recycle bin. */
export async function restoreCustomer(caller: Caller, id: string, requestId?: string): Promise<Customer> {
  const { v, item } = await viewerAnd(caller, id);
  requireWrite(v);
  if (!item || !canSee(v, item)) throw new NotFoundError(`customer ${id} not found`);
  const before = item;
  if (!before.deletedAt) throw new ConflictError(`customer ${id} is not in the recycle bin`);
  const at = new Date().toISOString();
  const { deletedAt: _d, deletedBy: _b, ...live } = toCustomer(before);
  const after = { ...live, updatedAt: at, updatedBy: caller.userId, version: before.version + 1 };
  await unbinCustomer(caller.tenant, before, { at, by: caller.userId }, [
    customerAudit(caller, "restore", id, at, image(toCustomer(before)), after, requestId),
  ]);
  return { ...present(after, v), ...(await classified(caller.tenant, id)) };
}

/**
 * Lists customers the viewer may see. With a data scope the list is an index Query of that scope: `own` reads the
 * owner index, `dept`/`dept_tree` the department-path index; search and the recycle bin apply the scope as a filter.
 */
export async function listCustomers(caller: Caller, q: CustomerListQuery) {
  const v = await resolveViewer(caller);
  const { cursor, limit, ...shape } = q;
  // The cursor is bound to the viewer's scope too: when an admin moves the user, an old cursor stops working.
  const scope = JSON.stringify(["customers", shape, v.scope, v.scope === "own" ? v.userId : v.deptPath]);
  const state = decodeCursor<unknown>(caller.tenant, scope, cursor);
  const bin = q.deleted === "true";
  const scoped = scopeConditions(v);
  let page: { items: CustomerItem[]; state?: unknown };
  if (bin) {
    page = await listAll(caller.tenant, [...conditionsOf(q, false), ...scoped], limit, state as never, true);
    if (q.q) {
      const query = normalizeQuery(q.q);
      page.items = page.items.filter((i) => (i.searchTokens ?? []).some((t) => t.startsWith(query)));
    }
  } else if (q.q) {
    const query = normalizeQuery(q.q);
    if (!query) return { items: [], nextCursor: null };
    page = await searchCustomers(caller.tenant, query, [...conditionsOf(q, false), ...scoped], limit, state as never);
  } else if (q.category) {
    // Membership index: one Query per shard of the category's partitions, narrowed to the viewer's scope.
    const i = q.category.indexOf(":");
    const rest = conditionsOf({ ...q, category: undefined }, false);
    const res = await customersInCategory(v, q.category.slice(0, i), q.category.slice(i + 1), limit, state as never);
    page = { items: res.items.filter((c) => matches(c, rest)), state: res.state };
  } else if (v.scope === "own") {
    if (q.owner && q.owner !== v.userId) return { items: [], nextCursor: null };
    page = await listByOwner(caller.tenant, v.userId, conditionsOf(q, true), limit, state as never);
  } else if (v.scope === "dept" || v.scope === "dept_tree") {
    const conds = conditionsOf(q, false);
    page = await listByDepartment(caller.tenant, v.deptPath!, v.scope === "dept_tree", conds, limit, state as never);
  } else if (q.owner) {
    page = await listByOwner(caller.tenant, q.owner, conditionsOf(q, true), limit, state as never);
  } else {
    page = await listAll(caller.tenant, conditionsOf(q, false), limit, state as ShardCursor | undefined, false);
  }
  return {
    items: page.items.map((i) => present(i, v)),
    nextCursor: page.state ? encodeCursor(caller.tenant, scope, page.state) : null,
  };
}

/** The customer with everything in its item collection, read with one Query (beside the viewer's own record). */
export async function customer360(caller: Caller, id: string) {
  const [v, items] = await Promise.all([resolveViewer(caller), readCollection(caller.tenant, id)]);
  const profile = items.find((i) => i.entity === "customer") as CustomerItem | undefined;
  await requireVisible(v, profile, id);
  const byEntity = (e: string) => items.filter((i) => i.entity === e);
  const customer = present(profile!, v);
  return {
    customer,
    contacts: byEntity("contact").map((c) => maskRecord(toContact(c), v.perms.viewSensitive)),
    orders: latestOrders(items),
    receivables: receivablesOf(items),
    interactions: latestInteractions(items),
    openTasks: openTasksOf(items),
    categories: customer.categories ?? {},
    valueScore:
      customer.valueScore === undefined ? null : { score: customer.valueScore, factors: customer.valueFactors ?? {} },
  };
}
