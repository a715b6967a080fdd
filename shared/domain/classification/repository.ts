// All DynamoDB access of classification: the tenant's config partition (schemes, versions, value model), the one
// transaction that reconciles a customer's classification, and the reads of cells, membership and history.
import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { env } from "../../config/env.ts";
import { TTL_ATTRIBUTE } from "../../db/table.ts";
import { ddb } from "../../db/client.ts";
import { queryAll } from "../../db/query.ts";
import { shardOf } from "../../db/ids.ts";
import { mergedQuery, type ShardCursor } from "../../db/sharded.ts";
import { type GuardedItem, MAX_TRANSACTION_ITEMS, transact } from "../../db/transact.ts";
import { ConflictError } from "../../http/errors.ts";
import { customerKeys } from "../customers/keys.ts";
import { type ClassificationReplan, replanMarker } from "../reminders/repository.ts";
import { getCustomerItem } from "../customers/repository.ts";
import type { Viewer } from "../org/viewer.ts";
import { BUILT_IN_SCHEMES } from "./builtins.ts";
import type { CellMove, ReconcilePlan } from "./engine.ts";
import { classificationKeys as K } from "./keys.ts";
import type { Scheme } from "./schemas.ts";
import { DEFAULT_VALUE_MODEL, type ValueModel } from "./value.ts";

const table = () => env.TABLE_NAME;
const shards = () => env.LIST_SHARDS;

export interface ClassConfig {
  /** Built-in schemes (or the tenant's stored versions of them) followed by custom schemes, by id. */
  schemes: Scheme[];
  model: ValueModel;
}

const strip = (item: Record<string, unknown>) => {
  const { PK: _p, SK: _s, entity: _e, ...rest } = item;
  return rest;
};

/** Reads the tenant's current schemes and value model: one Query of the config partition (strongly consistent). */
export async function readConfig(tenant: string): Promise<ClassConfig> {
  const items = await queryAll({
    TableName: table(),
    KeyConditionExpression: "PK = :pk AND SK BETWEEN :a AND :b",
    ExpressionAttributeValues: { ":pk": K.configPk(tenant), ":a": K.configFirstSk(), ":b": K.valueModelSk() },
    ConsistentRead: true,
  });
  const stored = new Map(
    items.filter((i) => i.entity === "scheme").map((i) => [i.id as string, strip(i) as unknown as Scheme]),
  );
  const model = items.find((i) => i.entity === "value-model");
  const builtIns = BUILT_IN_SCHEMES.map((b) => stored.get(b.id) ?? b);
  const custom = [...stored.values()].filter((s) => !s.builtIn).sort((a, b) => (a.id < b.id ? -1 : 1));
  return {
    schemes: [...builtIns, ...custom],
    model: model ? (strip(model).model as ValueModel) : DEFAULT_VALUE_MODEL,
  };
}

/** One stored version of a scheme (version 1 of a built-in scheme is the code's). */
export async function getSchemeVersion(tenant: string, id: string, version: number): Promise<Scheme | undefined> {
  const res = await ddb.send(
    new GetCommand({ TableName: table(), Key: { PK: K.configPk(tenant), SK: K.versionSk(id, version) } }),
  );
  return res.Item ? (strip(res.Item) as unknown as Scheme) : undefined;
}

/**
 * Stores a scheme's new current version and keeps it as a version item, conditional on the version the caller read
 * (`expected`: undefined for a new custom scheme; 1 for the first change of a built-in scheme), with `extras`.
 */
export async function writeScheme(
  tenant: string,
  s: Scheme,
  expected: number | undefined,
  storedBefore: boolean,
  extras: GuardedItem[],
): Promise<void> {
  const current: GuardedItem = {
    item: {
      Put: {
        TableName: table(),
        Item: { PK: K.configPk(tenant), SK: K.schemeSk(s.id), entity: "scheme", ...s },
        ...(storedBefore
          ? {
              ConditionExpression: "#v = :expected",
              ExpressionAttributeNames: { "#v": "version" },
              ExpressionAttributeValues: { ":expected": expected },
            }
          : { ConditionExpression: "attribute_not_exists(PK)" }),
      },
    },
    onConditionFailed: () =>
      storedBefore || expected !== undefined
        ? new ConflictError(`scheme ${s.id} changed meanwhile; read it again`)
        : new ConflictError(`scheme ${s.id} already exists`),
  };
  const version: GuardedItem = {
    item: {
      Put: {
        TableName: table(),
        Item: { PK: K.configPk(tenant), SK: K.versionSk(s.id, s.version), entity: "scheme-version", ...s },
        ConditionExpression: "attribute_not_exists(PK)",
      },
    },
    onConditionFailed: () => new ConflictError(`scheme ${s.id} changed meanwhile; read it again`),
  };
  await transact([current, version, ...extras]);
}

/** Stores the tenant's value model. */
export async function writeValueModel(tenant: string, model: ValueModel, extras: GuardedItem[]): Promise<void> {
  await transact([
    {
      item: {
        Put: {
          TableName: table(),
          Item: { PK: K.configPk(tenant), SK: K.valueModelSk(), entity: "value-model", model },
        },
      },
    },
    ...extras,
  ]);
}

/** Kept 40 days: long past the day whose nightly job it guards. */
const NIGHTLY_GUARD_TTL_SECONDS = 40 * 86_400;

/** The guard that lets one nightly job per tenant and day start (goes into the job's own transaction). */
export function nightlyGuard(tenant: string, day: string, onTaken: () => Error): GuardedItem {
  return {
    item: {
      Put: {
        TableName: table(),
        Item: {
          PK: K.configPk(tenant),
          SK: K.nightlySk(day),
          entity: "nightly-run",
          day,
          [TTL_ATTRIBUTE]: Math.floor(Date.now() / 1000) + NIGHTLY_GUARD_TTL_SECONDS,
        },
        ConditionExpression: "attribute_not_exists(PK)",
      },
    },
    onConditionFailed: onTaken,
  };
}

/** A customer's profile, strongly consistent (reconciliation must see the latest stats). */
export const readProfile = getCustomerItem;

/** The classification snapshot moved on by another writer since it was read: read again and plan again. */
export class StaleSnapshotError extends Error {
  override readonly name = "StaleSnapshotError";
  constructor(readonly customerId: string) {
    super(`customer ${customerId}: classification moved on`);
  }
}

/** One plan's move of one distribution cell. */
export interface CellWrite {
  key: { PK: string; SK: string };
  move: CellMove;
}

/** A plan's writes: the customer's own items, and its distribution cell moves (which several plans may share). */
interface ReconcileWrites {
  own: GuardedItem[];
  cells: CellWrite[];
}

/** `PK|SK` of a cell: plans moving the same cell share one ADD in a transaction. */
export const cellId = (c: CellWrite): string => `${c.key.PK}\u0000${c.key.SK}`;

/** One ADD per distinct cell of `cells`, their moves summed (cells whose moves cancel out are left alone). */
export function cellUpdates(cells: readonly CellWrite[]): GuardedItem[] {
  const sums = new Map<string, CellWrite>();
  for (const c of cells) {
    const sum = sums.get(cellId(c));
    sums.set(
      cellId(c),
      sum
        ? {
            key: c.key,
            move: { ...sum.move, count: sum.move.count + c.move.count, revenue: sum.move.revenue + c.move.revenue },
          }
        : c,
    );
  }
  return [...sums.values()]
    .filter((c) => c.move.count !== 0 || c.move.revenue !== 0)
    .map((c) => cellUpdate(c.key, c.move));
}

/** The classification fields a plan gives the profile (what the reconcile's profile update sets). */
export function classificationFields(plan: ReconcilePlan): Record<string, unknown> {
  return {
    categories: plan.categories,
    cls: plan.snapshot,
    valueScore: plan.score.score,
    valueFactors: plan.score.factors,
  };
}

/**
 * The writes of a reconcile plan: the profile (categories, value score, snapshot; conditional on the snapshot revision
 * read), membership puts and deletes, history entries, the reminder re-plan marker, and each cell's move.
 */
export function reconcileWrites(
  tenant: string,
  customerId: string,
  plan: ReconcilePlan,
  at: string,
  markers = true,
): ReconcileWrites {
  const profile: GuardedItem = {
    item: {
      Update: {
        TableName: table(),
        Key: { PK: customerKeys.pk(tenant, customerId), SK: customerKeys.profileSk() },
        UpdateExpression: "SET categories = :cats, cls = :snap, valueScore = :score, valueFactors = :factors",
        ConditionExpression:
          plan.expectedRev === undefined
            ? "attribute_exists(PK) AND attribute_not_exists(cls)"
            : "attribute_exists(PK) AND cls.rev = :rev",
        ExpressionAttributeValues: {
          ":cats": plan.categories,
          ":snap": plan.snapshot,
          ":score": plan.score.score,
          ":factors": plan.score.factors,
          ...(plan.expectedRev === undefined ? {} : { ":rev": plan.expectedRev }),
        },
      },
    },
    onConditionFailed: () => new StaleSnapshotError(customerId),
  };
  const side = sideWrites(tenant, customerId, plan, at, markers);
  return { own: [profile, ...side.own], cells: side.cells };
}

/**
 * Everything a reconcile plan writes besides the profile: membership puts and deletes, the history entry, the
 * reminder re-plan marker, and the cells' moves. A new profile that carries {@link classificationFields} from its
 * first write (an imported customer) is classified by these alone, in the same transaction as its insert.
 */
export function sideWrites(
  tenant: string,
  customerId: string,
  plan: ReconcilePlan,
  at: string,
  markers = true,
): ReconcileWrites {
  const pk = customerKeys.pk(tenant, customerId);
  const shard = shardOf(customerId, shards());
  const own: GuardedItem[] = [
    ...Object.entries(plan.membership).map(([schemeId, value]): GuardedItem =>
      value === null
        ? { item: { Delete: { TableName: table(), Key: { PK: pk, SK: K.membershipSk(schemeId) } } } }
        : {
            item: {
              Put: {
                TableName: table(),
                Item: {
                  PK: pk,
                  SK: K.membershipSk(schemeId),
                  entity: "class-member",
                  customerId,
                  schemeId,
                  value,
                  ownerId: plan.snapshot.owner,
                  deptPath: plan.snapshot.dept,
                  GSI1PK: K.memberPk(tenant, schemeId, value, shard),
                  GSI1SK: K.memberSk(plan.snapshot.dept, customerId),
                },
              },
            },
          },
    ),
    // One item for all the schemes this reconcile changed (a new customer enters every scheme at once).
    ...(Object.keys(plan.history).length
      ? [
          {
            item: {
              Put: {
                TableName: table(),
                Item: {
                  PK: pk,
                  SK: K.historySk(at, plan.snapshot.rev),
                  entity: "class-change",
                  changes: plan.history,
                  at,
                },
              },
            },
          } satisfies GuardedItem,
        ]
      : []),
    // A changed category may change which reminder rules apply: the next reminder tick re-checks the customer.
    ...(markers && Object.keys(plan.history).length ? [replanMarker(tenant, customerId, at)] : []),
  ];
  const cells = plan.cells.map((move) => ({
    key: { PK: K.cellPk(tenant, move.schemeId, shard), SK: K.cellSk(move.dept, move.owner, move.value) },
    move,
  }));
  return { own, cells };
}

/** One ADD to a distribution cell (count and revenue), creating the cell when it is new. */
function cellUpdate(key: { PK: string; SK: string }, c: CellMove): GuardedItem {
  return {
    item: {
      Update: {
        TableName: table(),
        Key: key,
        UpdateExpression: "SET entity = :e, schemeId = :s, ownerId = :o, deptPath = :d, #v = :v ADD #n :n, revenue :r",
        ExpressionAttributeNames: { "#v": "value", "#n": "count" },
        ExpressionAttributeValues: {
          ":e": "class-cell",
          ":s": c.schemeId,
          ":o": c.owner,
          ":d": c.dept,
          ":v": c.value,
          ":n": c.count,
          ":r": c.revenue,
        },
      },
    },
  };
}

/** Writes a reconcile plan of one customer in one transaction, with `extras`. */
export async function writeReconcile(
  tenant: string,
  customerId: string,
  plan: ReconcilePlan,
  at: string,
  extras: GuardedItem[],
): Promise<void> {
  const w = reconcileWrites(tenant, customerId, plan, at);
  await transact([...w.own, ...cellUpdates(w.cells), ...extras]);
}

/** One customer's plan in a group written together. */
export interface GroupEntry {
  customerId: string;
  plan: ReconcilePlan;
}

/**
 * Splits plans into groups that each fit one transaction: a group holds its customers' own items plus one ADD per
 * distinct cell (moves of the same cell summed), at most `MAX_TRANSACTION_ITEMS`.
 */
export function groupReconciles(tenant: string, entries: GroupEntry[], at: string): GroupEntry[][] {
  const groups: GroupEntry[][] = [];
  let group: GroupEntry[] = [];
  let own = 0;
  let cells = new Set<string>();
  // Cells are sharded by customer: customers of one shard in one group share their cells (one ADD each, summed), so
  // the group holds more customers and the table fewer cell updates.
  const byShard = entries
    .map((e, i) => ({ e, i, shard: shardOf(e.customerId, shards()) }))
    .sort((a, b) => a.shard - b.shard || a.i - b.i)
    .map((x) => x.e);
  for (const e of byShard) {
    // Sized with the re-plan markers, and room for the check of the rules when they are left out.
    const w = reconcileWrites(tenant, e.customerId, e.plan, at);
    const next = new Set(cells);
    for (const c of w.cells) next.add(cellId(c));
    if (group.length && own + w.own.length + next.size > MAX_TRANSACTION_ITEMS - 1) {
      groups.push(group);
      group = [];
      own = 0;
      cells = new Set(w.cells.map(cellId));
    } else cells = next;
    group.push(e);
    own += w.own.length;
  }
  if (group.length) groups.push(group);
  return groups;
}

/**
 * Writes the plans of several customers in one transaction: every customer's own items (each profile conditional on
 * the snapshot its plan was made from) and the cells' summed moves. All or nothing: a StaleSnapshotError names the
 * customer whose classification moved on. Re-plan markers are written as `replan` says; without them the transaction
 * checks that the reminder rules are still those it was decided from (a RulesChangedError when not).
 */
export async function writeReconcileGroup(
  tenant: string,
  group: GroupEntry[],
  at: string,
  replan: ClassificationReplan = { markers: true },
): Promise<void> {
  const own: GuardedItem[] = [];
  const cells: CellWrite[] = [];
  for (const e of group) {
    const w = reconcileWrites(tenant, e.customerId, e.plan, at, replan.markers);
    own.push(...w.own);
    cells.push(...w.cells);
  }
  const check = !replan.markers && replan.check ? [replan.check] : [];
  await transact([...own, ...cellUpdates(cells), ...check]);
}

/** The cells of a scheme the viewer may count: one Query per shard, narrowed to the viewer's departments or owner. */
export async function readCells(tenant: string, schemeId: string, v: Viewer): Promise<Record<string, unknown>[]> {
  const scoped = v.scope === "dept" || v.scope === "dept_tree";
  const pages = await Promise.all(
    Array.from({ length: shards() }, async (_, shard) => {
      const out: Record<string, unknown>[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const res = await ddb.send(
          new QueryCommand({
            TableName: table(),
            KeyConditionExpression: scoped ? "PK = :pk AND begins_with(SK, :p)" : "PK = :pk",
            FilterExpression: v.scope === "own" ? "ownerId = :me" : undefined,
            ExpressionAttributeValues: {
              ":pk": K.cellPk(tenant, schemeId, shard),
              ...(scoped ? { ":p": K.cellScopePrefix(v.deptPath!, v.scope === "dept_tree") } : {}),
              ...(v.scope === "own" ? { ":me": v.userId } : {}),
            },
            ExclusiveStartKey: start,
          }),
        );
        out.push(...(res.Items ?? []));
        start = res.LastEvaluatedKey;
      } while (start);
      return out;
    }),
  );
  return pages.flat();
}

/** A page of the members of one category the viewer may see (membership index, one Query per shard). */
export async function listMembers(
  tenant: string,
  schemeId: string,
  value: string,
  v: Viewer,
  limit: number,
  state: ShardCursor | undefined,
): Promise<{ ids: string[]; state?: ShardCursor }> {
  const scoped = v.scope === "dept" || v.scope === "dept_tree";
  const res = await mergedQuery({
    index: "GSI1",
    partitions: Array.from({ length: shards() }, (_, s) => K.memberPk(tenant, schemeId, value, s)),
    limit,
    descending: false,
    skPrefix: scoped ? K.cellScopePrefix(v.deptPath!, v.scope === "dept_tree") : undefined,
    filter:
      v.scope === "own"
        ? { expression: "#o = :me", names: { "#o": "ownerId" }, values: { ":me": v.userId } }
        : undefined,
    state,
  });
  return { ids: res.items.map((i) => i.customerId as string), state: res.state };
}

/** Every recorded category change of a customer, oldest first. */
export async function readHistory(tenant: string, customerId: string): Promise<Record<string, unknown>[]> {
  const out = await queryAll({
    TableName: table(),
    KeyConditionExpression: "PK = :pk AND begins_with(SK, :h)",
    ExpressionAttributeValues: { ":pk": customerKeys.pk(tenant, customerId), ":h": K.historyPrefix() },
  });
  // One entry per scheme and change, oldest first, whichever form the item has (one scheme or many changes).
  const entries = out.flatMap((i): Record<string, unknown>[] =>
    i.changes && typeof i.changes === "object"
      ? Object.entries(i.changes as Record<string, [string | null, string]>).map(([schemeId, [from, to]]) => ({
          schemeId,
          from,
          to,
          at: i.at,
        }))
      : [i],
  );
  return entries.sort((a, b) => (String(a.at) < String(b.at) ? -1 : String(a.at) > String(b.at) ? 1 : 0));
}
