// All DynamoDB access for customers: the profile item, its search tokens and uniqueness guards, and the list indexes.
import { BatchGetCommand, type BatchGetCommandOutput, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { env } from "../../config/env.ts";
import { pool } from "../../db/pool.ts";
import { ddb } from "../../db/client.ts";
import { countQuery, queryAll } from "../../db/query.ts";
import { mergedQuery, type ShardCursor } from "../../db/sharded.ts";
import { type GuardedItem, transact } from "../../db/transact.ts";
import { ConflictError } from "../../http/errors.ts";
import { type Condition, matches, toFilterExpression } from "./filters.ts";
import { customerKeys as K } from "./keys.ts";
import type { Customer } from "./schemas.ts";

/** A stored customer profile: the API fields plus keys and the search tokens it is indexed under. */
export type CustomerItem = Customer & { searchTokens: string[] } & Record<string, unknown>;

/**
 * Attributes a profile stores for the table's own use, never shown: keys, index keys (any `GSI<n>PK/SK`), the search
 * tokens, the classification snapshot and the import's idempotency marker.
 */
const INTERNAL_ATTRS = new Set(["PK", "SK", "entity", "searchTokens", "cls", "importMark"]);

/** Whether an attribute is internal to the table (keys, index keys, bookkeeping) rather than part of an API view. */
export const isInternalAttr = (name: string): boolean => INTERNAL_ATTRS.has(name) || /^GSI\d+(PK|SK)$/.test(name);

/** The API view of a stored profile. */
export function toCustomer(item: Record<string, unknown>): Customer {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!isInternalAttr(k)) out[k] = v;
  return out as Customer;
}

const table = () => env.TABLE_NAME;
const shards = () => env.LIST_SHARDS;

function conflict(path: string, message: string) {
  return () => new ConflictError(message, [{ path, message }]);
}

function guardPut(pk: string, customerId: string, path: string, label: string): GuardedItem {
  return {
    item: {
      Put: {
        TableName: table(),
        Item: { PK: pk, SK: K.guardSk(), entity: "guard", customerId },
        ConditionExpression: "attribute_not_exists(PK)",
      },
    },
    onConditionFailed: conflict(path, `${label} is already used by another customer`),
  };
}

function guardDelete(pk: string, customerId: string): GuardedItem {
  return {
    item: {
      Delete: {
        TableName: table(),
        Key: { PK: pk, SK: K.guardSk() },
        ConditionExpression: "customerId = :id",
        ExpressionAttributeValues: { ":id": customerId },
      },
    },
  };
}

function searchPut(tenant: string, id: string, token: string, tokens: string[]): GuardedItem {
  return {
    item: {
      Put: {
        TableName: table(),
        Item: {
          PK: K.pk(tenant, id),
          SK: K.searchSk(token),
          entity: "customer-search",
          customerId: id,
          token,
          tokens,
          GSI3PK: K.searchPk(tenant, token),
          GSI3SK: K.searchGsiSk(token, id),
        },
      },
    },
  };
}

function searchDelete(tenant: string, id: string, token: string): GuardedItem {
  return { item: { Delete: { TableName: table(), Key: { PK: K.pk(tenant, id), SK: K.searchSk(token) } } } };
}

function listKeys(tenant: string, id: string, ownerId: string, deptPath: string | undefined) {
  return {
    GSI1PK: K.listPk(tenant, K.shard(id, shards())),
    GSI1SK: K.listSk(id),
    GSI2PK: K.ownerPk(tenant, ownerId),
    GSI2SK: K.ownerSk(id),
    ...(deptPath ? { GSI4PK: K.scopePk(tenant, K.shard(id, shards())), GSI4SK: K.scopeSk(deptPath, id) } : {}),
  };
}

/** The profile's row in the activity index (GSI3) for a last activity at `at`. */
export function activityIndex(tenant: string, id: string, at: string): { GSI3PK: string; GSI3SK: string } {
  return { GSI3PK: K.activityPk(tenant, K.shard(id, shards())), GSI3SK: K.activitySk(at, id) };
}

const stale = (id: string) => () =>
  new ConflictError(`customer ${id} was changed by someone else; read it again and retry with the new version`);

/** Reads a profile with a strongly consistent read. */
export async function getCustomerItem(tenant: string, id: string): Promise<CustomerItem | undefined> {
  const res = await ddb.send(
    new GetCommand({ TableName: table(), Key: { PK: K.pk(tenant, id), SK: K.profileSk() }, ConsistentRead: true }),
  );
  return res.Item as CustomerItem | undefined;
}

/** Everything in the customer's item collection except search tokens: one Query (continued only past 1 MB). */
export async function readCollection(tenant: string, id: string): Promise<Record<string, unknown>[]> {
  return queryAll({
    TableName: table(),
    KeyConditionExpression: "PK = :pk AND SK < :end",
    ExpressionAttributeValues: { ":pk": K.pk(tenant, id), ":end": K.collectionEnd() },
    ConsistentRead: true,
  });
}

/** A new customer's profile item, as {@link insertItems} writes it. */
export function newProfileItem(tenant: string, c: Customer, tokens: string[]): CustomerItem {
  return {
    PK: K.pk(tenant, c.id),
    SK: K.profileSk(),
    entity: "customer",
    ...listKeys(tenant, c.id, c.ownerId, c.deptPath),
    ...activityIndex(tenant, c.id, c.createdAt),
    ...c,
    searchTokens: tokens,
  };
}

/**
 * The items that create a profile: the profile itself (`attribute_not_exists(PK)`), its guards (code, USCC: each
 * `attribute_not_exists(PK)`) and, unless `withTokens` is false, its search tokens.
 */
export function insertItems(tenant: string, c: Customer, tokens: string[], withTokens = true): GuardedItem[] {
  return [
    {
      item: {
        Put: {
          TableName: table(),
          Item: newProfileItem(tenant, c, tokens),
          ConditionExpression: "attribute_not_exists(PK)",
        },
      },
      onConditionFailed: () => new ConflictError("a customer with this id already exists"),
    },
    guardPut(K.codeGuardPk(tenant, c.code), c.id, "code", `code ${c.code}`),
    ...(c.uscc ? [guardPut(K.usccGuardPk(tenant, c.uscc), c.id, "uscc", `unified social credit code ${c.uscc}`)] : []),
    ...(withTokens ? tokens.map((t) => searchPut(tenant, c.id, t, tokens)) : []),
  ];
}

/**
 * The search-index items of a customer as plain items, for BatchWriteItem: they carry no condition and are derived
 * from the profile, so writing them again is harmless.
 */
export function searchItems(tenant: string, id: string, tokens: string[]): Record<string, unknown>[] {
  return tokens.map((t) => (searchPut(tenant, id, t, tokens).item.Put as { Item: Record<string, unknown> }).Item);
}

/** Creates the profile with its guards (code, USCC) and search tokens, plus `extras` (audit, idempotency), atomically. */
export async function insertCustomer(
  tenant: string,
  c: Customer,
  tokens: string[],
  extras: GuardedItem[],
): Promise<void> {
  await transact([...extras, ...insertItems(tenant, c, tokens)]);
}

/**
 * The items that apply a change to a live profile if its version is still `before.version`: SET and REMOVE only the
 * changed fields (so counters maintained by other writers are never overwritten), moving guards and search tokens
 * with it.
 */
export function updateItems(
  tenant: string,
  before: CustomerItem,
  change: { set: Record<string, unknown>; remove: string[]; tokens: string[] },
): GuardedItem[] {
  const id = before.id;
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ":expected": before.version };
  const sets: string[] = [];
  const set: Record<string, unknown> = { ...change.set, searchTokens: change.tokens };
  if (typeof set.ownerId === "string" && set.ownerId !== before.ownerId) {
    set.GSI2PK = K.ownerPk(tenant, set.ownerId);
  }
  if (typeof set.deptPath === "string" && set.deptPath !== before.deptPath) {
    set.GSI4PK = K.scopePk(tenant, K.shard(id, shards()));
    set.GSI4SK = K.scopeSk(set.deptPath, id);
  }
  Object.entries(set).forEach(([k, v], i) => {
    names[`#s${i}`] = k;
    values[`:s${i}`] = v;
    sets.push(`#s${i} = :s${i}`);
  });
  const removes = change.remove.map((k, i) => {
    names[`#r${i}`] = k;
    return `#r${i}`;
  });
  const items: GuardedItem[] = [
    {
      item: {
        Update: {
          TableName: table(),
          Key: { PK: K.pk(tenant, id), SK: K.profileSk() },
          UpdateExpression: `SET ${sets.join(", ")}${removes.length ? ` REMOVE ${removes.join(", ")}` : ""}`,
          ConditionExpression: "version = :expected AND attribute_not_exists(deletedAt)",
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        },
      },
      onConditionFailed: stale(id),
    },
  ];
  const newCode = (change.set.code as string | undefined) ?? before.code;
  if (newCode.toUpperCase() !== before.code.toUpperCase()) {
    items.push(guardDelete(K.codeGuardPk(tenant, before.code), id));
    items.push(guardPut(K.codeGuardPk(tenant, newCode), id, "code", `code ${newCode}`));
  }
  const newUscc = change.remove.includes("uscc") ? undefined : ((change.set.uscc as string | undefined) ?? before.uscc);
  if (newUscc !== before.uscc) {
    if (before.uscc) items.push(guardDelete(K.usccGuardPk(tenant, before.uscc), id));
    if (newUscc) {
      items.push(guardPut(K.usccGuardPk(tenant, newUscc), id, "uscc", `unified social credit code ${newUscc}`));
    }
  }
  const old = before.searchTokens ?? [];
  if (JSON.stringify(old) !== JSON.stringify(change.tokens)) {
    items.push(...old.filter((t) => !change.tokens.includes(t)).map((t) => searchDelete(tenant, id, t)));
    items.push(...change.tokens.map((t) => searchPut(tenant, id, t, change.tokens)));
  }
  return items;
}

/**
 * Applies a change to a live profile if its version is still `before.version` (see {@link updateItems}), with
 * `extras` in the same transaction.
 */
export async function updateCustomer(
  tenant: string,
  before: CustomerItem,
  change: { set: Record<string, unknown>; remove: string[]; tokens: string[] },
  extras: GuardedItem[],
): Promise<void> {
  await transact([...updateItems(tenant, before, change), ...extras]);
}

/** Moves a live customer to the recycle bin: off the list, owner and search indexes; guards stay reserved. */
export async function binCustomer(
  tenant: string,
  before: CustomerItem,
  meta: { at: string; by: string },
  extras: GuardedItem[],
): Promise<void> {
  const id = before.id;
  await transact([
    {
      item: {
        Update: {
          TableName: table(),
          Key: { PK: K.pk(tenant, id), SK: K.profileSk() },
          UpdateExpression:
            "SET deletedAt = :at, deletedBy = :by, updatedAt = :at, updatedBy = :by, version = :next, GSI1PK = :bin REMOVE GSI2PK, GSI2SK, GSI4PK, GSI4SK",
          ConditionExpression: "version = :expected AND attribute_not_exists(deletedAt)",
          ExpressionAttributeValues: {
            ":at": meta.at,
            ":by": meta.by,
            ":next": before.version + 1,
            ":expected": before.version,
            ":bin": K.binPk(tenant, K.shard(id, shards())),
          },
        },
      },
      onConditionFailed: stale(id),
    },
    ...(before.searchTokens ?? []).map((t) => searchDelete(tenant, id, t)),
    ...extras,
  ]);
}

/** Brings a customer back from the recycle bin onto every index. */
export async function unbinCustomer(
  tenant: string,
  before: CustomerItem,
  meta: { at: string; by: string },
  extras: GuardedItem[],
): Promise<void> {
  const id = before.id;
  const keys = listKeys(tenant, id, before.ownerId, before.deptPath);
  const tokens = before.searchTokens ?? [];
  await transact([
    {
      item: {
        Update: {
          TableName: table(),
          Key: { PK: K.pk(tenant, id), SK: K.profileSk() },
          UpdateExpression:
            "SET updatedAt = :at, updatedBy = :by, version = :next, GSI1PK = :l1, GSI1SK = :s1, GSI2PK = :l2, GSI2SK = :s2" +
            (keys.GSI4PK ? ", GSI4PK = :l4, GSI4SK = :s4" : "") +
            " REMOVE deletedAt, deletedBy",
          ConditionExpression: "version = :expected AND attribute_exists(deletedAt)",
          ExpressionAttributeValues: {
            ":at": meta.at,
            ":by": meta.by,
            ":next": before.version + 1,
            ":expected": before.version,
            ":l1": keys.GSI1PK,
            ":s1": keys.GSI1SK,
            ":l2": keys.GSI2PK,
            ":s2": keys.GSI2SK,
            ...(keys.GSI4PK ? { ":l4": keys.GSI4PK, ":s4": keys.GSI4SK } : {}),
          },
        },
      },
      onConditionFailed: stale(id),
    },
    ...tokens.map((t) => searchPut(tenant, id, t, tokens)),
    ...extras,
  ]);
}

export interface ListPage {
  items: CustomerItem[];
  /** Where the next page starts; undefined at the end. */
  state?: unknown;
}

/** Newest first across the tenant's list shards (or the recycle bin), filtered. */
export async function listAll(
  tenant: string,
  conds: Condition[],
  limit: number,
  state: ShardCursor | undefined,
  bin: boolean,
): Promise<ListPage> {
  const partitions = Array.from({ length: shards() }, (_, s) => (bin ? K.binPk(tenant, s) : K.listPk(tenant, s)));
  const res = await mergedQuery({
    index: "GSI1",
    partitions,
    limit,
    descending: true,
    filter: toFilterExpression(conds),
    state,
  });
  return { items: res.items as CustomerItem[], state: res.state };
}

/**
 * Ids of the tenant's live customers for a job that visits every one (a bulk recompute), a page at a time: one list
 * shard after the other, in no particular order, reading only the ids from the index (the job reads the profiles
 * strongly consistent itself). Unlike {@link listAll} it never merges shards, so a page reads `limit` index rows, not
 * `limit` per shard. The cursor has the same shape: `"done"`, or where each shard continues.
 */
export async function pageLiveIds(
  tenant: string,
  limit: number,
  state: ShardCursor | undefined,
): Promise<{ ids: string[]; state?: ShardCursor }> {
  const next: ShardCursor = state ? [...state] : Array.from({ length: shards() }, () => null);
  // An empty shard (or one whose last page ended exactly at its end) answers no ids: go on to the next shard.
  for (let shard = next.findIndex((c) => c !== "done"); shard >= 0; shard = next.findIndex((c) => c !== "done")) {
    const res = await ddb.send(
      new QueryCommand({
        TableName: table(),
        IndexName: "GSI1",
        KeyConditionExpression: "GSI1PK = :pk",
        ExpressionAttributeValues: { ":pk": K.listPk(tenant, shard) },
        ExpressionAttributeNames: { "#id": "id" },
        ProjectionExpression: "#id",
        Limit: limit,
        ExclusiveStartKey: (next[shard] as Record<string, unknown> | null) ?? undefined,
      }),
    );
    next[shard] = res.LastEvaluatedKey ?? "done";
    const ids = (res.Items ?? []).map((i) => i.id as string);
    if (ids.length) return { ids, state: next.some((c) => c !== "done") ? next : undefined };
  }
  return { ids: [] };
}

/** Customers of one department (`tree` false) or of a department and all below it, across the scope shards. */
export async function listByDepartment(
  tenant: string,
  deptPath: string,
  tree: boolean,
  conds: Condition[],
  limit: number,
  state: ShardCursor | undefined,
): Promise<ListPage> {
  const partitions = Array.from({ length: shards() }, (_, s) => K.scopePk(tenant, s));
  const res = await mergedQuery({
    index: "GSI4",
    partitions,
    limit,
    descending: true,
    skPrefix: K.scopePrefix(deptPath, tree),
    filter: toFilterExpression(conds),
    state,
  });
  return { items: res.items as CustomerItem[], state: res.state };
}

/** Newest first among one owner's customers, filtered. */
export async function listByOwner(
  tenant: string,
  ownerId: string,
  conds: Condition[],
  limit: number,
  start: Record<string, unknown> | undefined,
): Promise<ListPage> {
  const filter = toFilterExpression(conds);
  const res = await ddb.send(
    new QueryCommand({
      TableName: table(),
      IndexName: "GSI2",
      KeyConditionExpression: "GSI2PK = :pk AND begins_with(GSI2SK, :cust)",
      FilterExpression: filter?.expression,
      ExpressionAttributeNames: filter?.names,
      ExpressionAttributeValues: { ":pk": K.ownerPk(tenant, ownerId), ":cust": K.ownerSk(""), ...filter?.values },
      ScanIndexForward: false,
      Limit: limit,
      ExclusiveStartKey: start,
    }),
  );
  return { items: (res.Items ?? []) as CustomerItem[], state: res.LastEvaluatedKey };
}

/** BatchGetItem requests of {@link batchGetProfiles} in flight at once. */
const PROFILE_READS_IN_FLIGHT = 4;

/**
 * Profiles by id (live or in the bin), a hundred keys a BatchGetItem and up to four of those at once, with
 * UnprocessedKeys retried; `consistent` for strongly consistent reads.
 */
export async function batchGetProfiles(
  tenant: string,
  ids: string[],
  consistent = false,
): Promise<Map<string, CustomerItem>> {
  const found = new Map<string, CustomerItem>();
  const batches: string[][] = [];
  for (let i = 0; i < ids.length; i += 100) batches.push(ids.slice(i, i + 100));
  await pool(batches, PROFILE_READS_IN_FLIGHT, async (batch) => {
    let keys: Record<string, unknown>[] | undefined = batch.map((id) => ({ PK: K.pk(tenant, id), SK: K.profileSk() }));
    for (let attempt = 0; keys?.length; attempt++) {
      const res: BatchGetCommandOutput = await ddb.send(
        new BatchGetCommand({ RequestItems: { [table()]: { Keys: keys, ConsistentRead: consistent || undefined } } }),
      );
      for (const item of res.Responses?.[table()] ?? []) found.set(item.id as string, item as CustomerItem);
      keys = res.UnprocessedKeys?.[table()]?.Keys;
      if (keys?.length) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
    }
  });
  // In the order of `ids`, whichever request answered first.
  const ordered = new Map<string, CustomerItem>();
  for (const id of ids) {
    const item = found.get(id);
    if (item) ordered.set(id, item);
  }
  return ordered;
}

/**
 * Prefix search over names, codes and pinyin: one Query of the partition of the query's first character. A customer
 * matches through its smallest matching token only, so it appears once across all pages.
 */
export async function searchCustomers(
  tenant: string,
  query: string,
  conds: Condition[],
  limit: number,
  start: Record<string, unknown> | undefined,
): Promise<ListPage> {
  const res = await ddb.send(
    new QueryCommand({
      TableName: table(),
      IndexName: "GSI3",
      KeyConditionExpression: "GSI3PK = :pk AND begins_with(GSI3SK, :q)",
      ExpressionAttributeValues: { ":pk": K.searchPk(tenant, query), ":q": query },
      Limit: limit,
      ExclusiveStartKey: start,
    }),
  );
  const hits = (res.Items ?? []).filter((h) => {
    const first = (h.tokens as string[]).filter((t) => t.startsWith(query)).sort()[0];
    return first === h.token;
  });
  const ids = hits.map((h) => h.customerId as string);
  const profiles = await batchGetProfiles(tenant, ids);
  const items = ids
    .map((id) => profiles.get(id))
    .filter((p): p is CustomerItem => !!p && !p.deletedAt && matches(p, conds));
  return { items, state: res.LastEvaluatedKey };
}

/**
 * Number of live customers a user owns: a COUNT Query of the owner index (no items are returned). Read-only; it
 * belongs with the customers repository's owner-index reads and moves there when that file is next changed.
 */
export async function countCustomersOf(tenant: string, ownerId: string): Promise<number> {
  return countQuery({
    TableName: table(),
    IndexName: "GSI2",
    KeyConditionExpression: "GSI2PK = :pk AND begins_with(GSI2SK, :cust)",
    ExpressionAttributeValues: { ":pk": K.ownerPk(tenant, ownerId), ":cust": K.ownerSk("") },
  });
}
