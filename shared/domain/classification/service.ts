// Classification use cases: schemes (built-in and custom, versioned), preview, apply as a job, distribution, value
// score model and pyramid, category history, and `reclassify`, which every write of a customer or its stats runs.
// adapter --> (use case) --> domain & repositories
import type { IdempotencyContext } from "../idempotency/idempotency.ts";
import type { Caller } from "../../auth/claims.ts";
import { isId } from "../../db/ids.ts";
import type { ShardCursor } from "../../db/sharded.ts";
import { type GuardedItem, transact } from "../../db/transact.ts";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from "../../http/errors.ts";
import { logger } from "../../log/logger.ts";
import { auditPut } from "../audit/audit.ts";
import { type CustomerItem, batchGetProfiles, listAll } from "../customers/repository.ts";
import { type SendJobMessage, startJob } from "../jobs/service.ts";
import { resolveViewer, canSee, type Viewer } from "../org/viewer.ts";
import { builtInScheme } from "./builtins.ts";
import { type ClassSnapshot, classify, planReconcile } from "./engine.ts";
import { SCORE_SCHEME } from "./keys.ts";
import {
  type ClassConfig,
  getSchemeVersion,
  listMembers,
  readCells,
  readConfig,
  readHistory,
  readProfile,
  StaleSnapshotError,
  writeReconcile,
  writeScheme,
  writeValueModel,
} from "./repository.ts";
import type { PreviewInput, Scheme, SchemeInput } from "./schemas.ts";
import { presentValueModel, pyramidOf, type ValueModel } from "./value.ts";
import { formatFen } from "../money.ts";

/** Active schemes are classified on every customer write, so their number is bounded (one transaction holds all). */
export const MAX_ACTIVE_SCHEMES = 20;

/** The config is read at most this often per process (a scheme change reaches other writers within this time). */
const CONFIG_TTL_MS = 5_000;
const configCache = new Map<string, { at: number; config: ClassConfig }>();

/** The tenant's schemes and value model, cached briefly per process. */
export async function configOf(tenant: string, fresh = false): Promise<ClassConfig> {
  const hit = configCache.get(tenant);
  if (!fresh && hit && Date.now() - hit.at < CONFIG_TTL_MS) return hit.config;
  const config = await readConfig(tenant);
  configCache.set(tenant, { at: Date.now(), config });
  return config;
}

const MAX_RECONCILE_ATTEMPTS = 8;

/**
 * Brings one customer's classification up to date with its current fields and stats: categories under every active
 * scheme, value score, distribution cells, membership index items and history, in one transaction conditional on the
 * classification snapshot it read. When another writer moved the snapshot meanwhile it reads again and re-plans, so
 * the last write of a customer always leaves the classification of its final state. `extras` (a job's outcome items)
 * are written with it, even when nothing else changes. Resolves whether anything changed.
 */
export async function reconcileCustomer(
  tenant: string,
  customerId: string,
  opts: { extras?: GuardedItem[]; now?: number; config?: ClassConfig; job?: string } = {},
): Promise<"changed" | "unchanged" | "missing"> {
  return (await reconcileAndTell(tenant, customerId, opts)).outcome;
}

/** A customer's classification as a response shows it: its categories and value score. */
export interface ClassState {
  categories: Record<string, string>;
  valueScore?: number;
}

/** The classification a stored profile shows. */
export function classStateOf(item: { categories?: Record<string, string>; valueScore?: number }): ClassState {
  return {
    categories: item.categories ?? {},
    ...(item.valueScore === undefined ? {} : { valueScore: item.valueScore }),
  };
}

/** {@link reconcileCustomer}, and the classification the customer has after it (none when it is missing). */
async function reconcileAndTell(
  tenant: string,
  customerId: string,
  opts: { extras?: GuardedItem[]; now?: number; config?: ClassConfig; job?: string; written?: CustomerItem },
): Promise<{ outcome: "changed" | "unchanged" | "missing"; state?: ClassState }> {
  for (let attempt = 1; ; attempt++) {
    // The profile this request has just written is planned from as it is; a retry reads it (the snapshot moved on).
    const [config, item] = await Promise.all([
      opts.config ? Promise.resolve(opts.config) : configOf(tenant),
      attempt === 1 && opts.written ? Promise.resolve(opts.written) : readProfile(tenant, customerId),
    ]);
    if (!item) return { outcome: "missing" };
    const now = opts.now ?? Date.now();
    const plan = planReconcile(item, config.schemes, config.model, now);
    if (!plan) {
      if (opts.extras?.length) await transact(opts.extras);
      const state = classStateOf(item);
      // A job's bulk write stamps the snapshot: the customer was changed by this job before (a repeated page).
      const byThisJob = opts.job !== undefined && (item.cls as ClassSnapshot | undefined)?.job === opts.job;
      return { outcome: byThisJob ? "changed" : "unchanged", state };
    }
    if (opts.job !== undefined) plan.snapshot.job = opts.job;
    try {
      await writeReconcile(tenant, customerId, plan, new Date(now).toISOString(), opts.extras ?? []);
      return { outcome: "changed", state: { categories: plan.categories, valueScore: plan.score.score } };
    } catch (err) {
      if (!(err instanceof StaleSnapshotError) || attempt >= MAX_RECONCILE_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
    }
  }
}

/**
 * Reclassifies a customer right after a write of its fields or stats committed (same request), and resolves the
 * classification it has now. `written`: the profile exactly as that write stored it (a create's), so it is not read
 * again. A failure here never undoes or fails the write: it is logged (resolving undefined), and the next write of the
 * customer or an apply brings it up to date.
 */
export async function reclassify(
  tenant: string,
  customerId: string,
  written?: CustomerItem,
): Promise<ClassState | undefined> {
  try {
    return (await reconcileAndTell(tenant, customerId, { written })).state;
  } catch (err) {
    logger.warn("reclassification after a write failed; the next write or an apply catches up", {
      customerId,
      error: err as Error,
    });
    return undefined;
  }
}

function requireClassifier(v: Viewer): void {
  if (!v.perms.admin && !v.roles.includes("manager")) {
    throw new ForbiddenError("only an admin or a manager may change classification");
  }
}

/** Every scheme of the tenant (built-in and custom), current versions. */
export async function listSchemes(caller: Caller): Promise<{ items: Scheme[] }> {
  await resolveViewer(caller);
  return { items: (await configOf(caller.tenant, true)).schemes };
}

async function currentScheme(tenant: string, id: string): Promise<Scheme> {
  const s = (await configOf(tenant, true)).schemes.find((x) => x.id === id);
  if (!s) throw new NotFoundError(`scheme ${id} not found`);
  return s;
}

/** A scheme as it is now, or as it was at `version`. */
export async function getScheme(caller: Caller, id: string, version?: number): Promise<Scheme> {
  await resolveViewer(caller);
  const current = await currentScheme(caller.tenant, id);
  if (version === undefined || version === current.version) return current;
  if (version > current.version) throw new NotFoundError(`scheme ${id} has no version ${version}`);
  const old = version === 1 && current.builtIn ? builtInScheme(id) : await getSchemeVersion(caller.tenant, id, version);
  if (!old) throw new NotFoundError(`scheme ${id} has no version ${version}`);
  return old;
}

function checkActiveCount(config: ClassConfig, next: Scheme): void {
  const active = config.schemes.filter((s) => s.id !== next.id && s.active).length + (next.active ? 1 : 0);
  if (active > MAX_ACTIVE_SCHEMES) {
    throw new ValidationError("request body is invalid", [
      { path: "active", message: `at most ${MAX_ACTIVE_SCHEMES} schemes may be active at once` },
    ]);
  }
}

const schemeAudit = (caller: Caller, s: Scheme, before: Scheme | null, requestId?: string) =>
  auditPut(caller.tenant, {
    at: s.updatedAt,
    actor: caller.userId,
    action: before ? "update" : "create",
    entityType: "scheme",
    entityId: `scheme:${s.id}`,
    before: before ? { ...before } : null,
    after: { ...s },
    requestId,
  });

/** Creates a custom scheme (admin or manager). */
export async function createScheme(caller: Caller, id: string, input: SchemeInput, requestId?: string) {
  const v = await resolveViewer(caller);
  requireClassifier(v);
  const config = await configOf(caller.tenant, true);
  if (config.schemes.some((s) => s.id === id) || id === SCORE_SCHEME) throw new ConflictError(`scheme ${id} exists`);
  const at = new Date().toISOString();
  const { version: _v, ...fields } = input;
  const s: Scheme = { id, ...fields, builtIn: false, version: 1, createdAt: at, updatedAt: at, updatedBy: v.userId };
  checkActiveCount(config, s);
  await writeScheme(caller.tenant, s, undefined, false, [schemeAudit(caller, s, null, requestId)]);
  configCache.delete(caller.tenant);
  return s;
}

/** Replaces a scheme's definition as a new version (the previous version stays readable). */
export async function putScheme(
  caller: Caller,
  id: string,
  input: SchemeInput,
  expected: number,
  requestId?: string,
): Promise<Scheme> {
  const v = await resolveViewer(caller);
  requireClassifier(v);
  const config = await configOf(caller.tenant, true);
  const before = config.schemes.find((s) => s.id === id);
  if (!before) throw new NotFoundError(`scheme ${id} not found`);
  if (before.version !== expected) {
    throw new ConflictError(`scheme ${id} is at version ${before.version}, not ${expected}; read it again`);
  }
  const at = new Date().toISOString();
  const { version: _v, ...fields } = input;
  const s: Scheme = {
    id,
    ...fields,
    builtIn: before.builtIn,
    version: before.version + 1,
    createdAt: before.createdAt,
    updatedAt: at,
    updatedBy: v.userId,
  };
  checkActiveCount(config, s);
  // A built-in scheme is stored from its first change on: its version 1 (the code's) becomes a version item too.
  const storedBefore = !(before.builtIn && before.version === 1);
  await writeScheme(caller.tenant, s, expected, storedBefore, [schemeAudit(caller, s, before, requestId)]);
  configCache.delete(caller.tenant);
  return s;
}

/** Pages through every live customer the viewer may see (the tenant list, narrowed to the scope). */
async function* visibleCustomers(v: Viewer): AsyncGenerator<CustomerItem> {
  let state: ShardCursor | undefined;
  do {
    const page = await listAll(v.tenant, [], 200, state, false);
    for (const c of page.items) if (canSee(v, c)) yield c;
    state = page.state as ShardCursor | undefined;
  } while (state);
}

/** Customers read by one preview at most (a preview is a synchronous read; beyond this it says it stopped). */
export const PREVIEW_MAX_CUSTOMERS = 50_000;

/**
 * What a scheme (or a proposed rule set for it) would change: count per category now (as stored) and after, and a
 * sample of customers that would move. Reads only; counts only customers the caller may see.
 */
export async function previewScheme(caller: Caller, id: string, input: PreviewInput) {
  const v = await resolveViewer(caller);
  const scheme = await currentScheme(caller.tenant, id);
  const proposed =
    input.rules || input.valueFrom
      ? {
          rules: input.rules ?? [],
          valueFrom: input.valueFrom,
          default: input.default ?? scheme.default,
        }
      : scheme;
  const now = Date.now();
  const before: Record<string, number> = {};
  const after: Record<string, number> = {};
  const sample: { id: string; name: string; from: string | null; to: string }[] = [];
  let customers = 0;
  let moving = 0;
  let complete = true;
  for await (const c of visibleCustomers(v)) {
    if (customers >= PREVIEW_MAX_CUSTOMERS) {
      complete = false;
      break;
    }
    customers++;
    const from = (c.categories ?? {})[id] ?? null;
    const to = classify(proposed, c, now);
    if (from !== null) before[from] = (before[from] ?? 0) + 1;
    after[to] = (after[to] ?? 0) + 1;
    if (from !== to) {
      moving++;
      if (sample.length < input.sample) sample.push({ id: c.id, name: c.name, from, to });
    }
  }
  const values = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return {
    schemeId: id,
    customers,
    moving,
    complete,
    categories: values.map((value) => ({
      value,
      before: before[value] ?? 0,
      after: after[value] ?? 0,
      change: (after[value] ?? 0) - (before[value] ?? 0),
    })),
    sample,
  };
}

/** Starts the bulk recompute of every customer of the tenant (all active schemes, value score, dormancy): 202. */
export async function applyScheme(
  caller: Caller,
  id: string,
  requestId?: string,
  send?: SendJobMessage,
  idem?: IdempotencyContext,
): Promise<{ jobId: string }> {
  const v = await resolveViewer(caller);
  requireClassifier(v);
  await currentScheme(caller.tenant, id);
  const total = (await readCells(caller.tenant, SCORE_SCHEME, { ...v, scope: "all" })).reduce(
    (a, c) => a + Number(c.count ?? 0),
    0,
  );
  const job = await startJob(
    caller,
    { type: "classify", params: { schemeId: id }, total, counts: { changed: 0, unchanged: 0, dormant: 0 } },
    requestId,
    send,
    [],
    idem,
  );
  return { jobId: job.id };
}

/** Count and revenue per category of a scheme, over the customers the caller may see; kept at write time. */
export async function distribution(caller: Caller, id: string) {
  const v = await resolveViewer(caller);
  await currentScheme(caller.tenant, id);
  const cells = await readCells(caller.tenant, id, v);
  const by = new Map<string, { count: number; revenue: number }>();
  for (const c of cells) {
    const x = by.get(c.value as string) ?? { count: 0, revenue: 0 };
    x.count += Number(c.count ?? 0);
    x.revenue += Number(c.revenue ?? 0);
    by.set(c.value as string, x);
  }
  const items = [...by.entries()]
    .filter(([, x]) => x.count > 0)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([value, x]) => ({ value, count: x.count, revenue: formatFen(x.revenue) }));
  return {
    schemeId: id,
    items,
    total: {
      count: items.reduce((a, i) => a + i.count, 0),
      revenue: formatFen([...by.values()].reduce((a, x) => a + x.revenue, 0)),
    },
  };
}

/** The value pyramid over the customers the caller may see, cut from the score histogram cells. */
export async function valuePyramid(caller: Caller) {
  const v = await resolveViewer(caller);
  const { model } = await configOf(caller.tenant, true);
  const histogram = new Map<number, number>();
  for (const c of await readCells(caller.tenant, SCORE_SCHEME, v)) {
    const s = Number(c.value);
    histogram.set(s, (histogram.get(s) ?? 0) + Number(c.count ?? 0));
  }
  const p = pyramidOf(histogram, model.pyramid);
  return {
    total: p.total,
    shares: model.pyramid,
    tiers: (["top", "next", "base"] as const).map((tier) => ({
      tier,
      count: p.tiers[tier].count,
      minScore: p.tiers[tier].count ? p.tiers[tier].minScore : null,
    })),
  };
}

export async function getValueModel(caller: Caller) {
  await resolveViewer(caller);
  return presentValueModel((await configOf(caller.tenant, true)).model);
}

/** Replaces the tenant's value model (admin or manager); scores follow on each customer's next write or an apply. */
export async function putValueModel(caller: Caller, model: ValueModel, requestId?: string) {
  const v = await resolveViewer(caller);
  requireClassifier(v);
  const before = (await configOf(caller.tenant, true)).model;
  const at = new Date().toISOString();
  await writeValueModel(caller.tenant, model, [
    auditPut(caller.tenant, {
      at,
      actor: caller.userId,
      action: "update",
      entityType: "value-model",
      entityId: "value-model",
      before: presentValueModel(before),
      after: presentValueModel(model),
      requestId,
    }),
  ]);
  configCache.delete(caller.tenant);
  return presentValueModel(model);
}

/**
 * A customer's categories at time `at` (default now), from its recorded changes: for each scheme, the category of
 * its last change at or before `at`. The customer must be one the caller may see.
 */
export async function categoriesAt(caller: Caller, customerId: string, at?: string) {
  const v = await resolveViewer(caller);
  const profile = isId(customerId) ? await readProfile(caller.tenant, customerId) : undefined;
  if (!profile || profile.deletedAt || !canSee(v, profile)) throw new NotFoundError(`customer ${customerId} not found`);
  const when = at ? new Date(at).toISOString() : new Date().toISOString();
  const history = await readHistory(caller.tenant, customerId);
  const categories: Record<string, string> = {};
  for (const h of history) if (String(h.at) <= when) categories[h.schemeId as string] = h.to as string;
  return {
    customerId,
    at: when,
    categories,
    history: history.map((h) => ({ schemeId: h.schemeId, from: h.from, to: h.to, at: h.at })),
  };
}

/** A page of customers in one category the viewer may see (the membership index, then their profiles). */
export async function customersInCategory(
  v: Viewer,
  schemeId: string,
  value: string,
  limit: number,
  state: ShardCursor | undefined,
) {
  const page = await listMembers(v.tenant, schemeId, value, v, limit, state);
  const profiles = await batchGetProfiles(v.tenant, page.ids);
  const items = page.ids
    .map((id) => profiles.get(id))
    .filter((p): p is CustomerItem => !!p && !p.deletedAt && canSee(v, p) && p.categories?.[schemeId] === value);
  return { items, state: page.state };
}
