// The audit log as tamper-evident hash chains: each entry is appended to its chain inside the transaction it records.
import { createHash } from "node:crypto";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { env } from "../../config/env.ts";
import { ddb } from "../../db/client.ts";
import { shardOf } from "../../db/ids.ts";
import type { Deferred, GuardedItem } from "../../db/transact.ts";
import { ConflictError } from "../../http/errors.ts";
import { canonicalJson } from "../idempotency/idempotency.ts";
import { registerTenant } from "../tenants/registry.ts";
import type { AuditEntry } from "./audit.ts";
import { AUDIT_CHAINS, auditKeys } from "./keys.ts";

/** The `prevHash` of the first entry of every chain. */
export const GENESIS_HASH = "0".repeat(64);

/** The chain an entity's entries join (all of one record's history stays on one chain). */
export const chainOf = (entityId: string): number => shardOf(entityId, AUDIT_CHAINS);

/** Raised when the head of a chain kept moving under this writer for every attempt. */
export class AuditBusy extends ConflictError {
  constructor() {
    super("the audit log is busy with other changes; try again");
  }
}

/** Key attributes are left out of the hash: they are derived from hashed fields, and the verifier checks them. */
const unhashed = (name: string) => name === "hash" || name === "PK" || name === "SK" || /^GSI\d+(PK|SK)$/.test(name);

/** sha256 (hex) of the entry's prevHash and the canonical JSON of every attribute but its keys and hash. */
export function entryHash(item: Record<string, unknown>): string {
  const content = Object.fromEntries(Object.entries(item).filter(([k]) => !unhashed(k)));
  return createHash("sha256").update(String(item.prevHash)).update(canonicalJson(content)).digest("hex");
}

/**
 * A value as DynamoDB stores and returns it through the document client (`removeUndefinedValues`): undefined dropped
 * from objects and lists. Hashing this form makes the hash recomputable from what is read back.
 */
function asStored(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => x !== undefined).map(asStored);
  if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => [k, asStored(x)]),
    );
  }
  return v;
}

/** What `transact` resolves for an audit entry: the chain fields are only known once the chain's head is read. */
interface AuditAppend extends Deferred {
  tenant: string;
  entry: AuditEntry;
  heads?: HeadMemo;
}

/**
 * The heads of chains a writer itself moved last (by tenant and chain), for a writer that appends to the same chains
 * one transaction after the other (an import's lanes): its next append starts from the head it wrote instead of
 * reading it. A head taken from here is conditional like a read one; when another writer moved the chain meanwhile the
 * transaction is cancelled, and its next attempt reads the head (a head is taken out when used, and put back only by
 * a committed transaction).
 */
export type HeadMemo = Map<string, ChainHead>;

export interface ChainHead {
  seq: number;
  hash: string;
}

/** The head of one chain, read consistently; undefined before the chain's first entry. */
export async function readHead(tenant: string, chain: number): Promise<ChainHead | undefined> {
  const res = await ddb.send(
    new GetCommand({
      TableName: env.TABLE_NAME,
      Key: { PK: auditKeys.headPk(tenant, chain), SK: auditKeys.headSk() },
      ConsistentRead: true,
    }),
  );
  const item = res.Item;
  return item ? { seq: Number(item.seq), hash: String(item.hash) } : undefined;
}

/** The stored item of an entry at a given position of its chain, hash included. */
export function chainedItem(tenant: string, entry: AuditEntry, chain: number, seq: number, prevHash: string) {
  const item = asStored({
    PK: auditKeys.pk(tenant, entry.entityId),
    SK: auditKeys.sk(entry.at, entry.id),
    GSI1PK: auditKeys.chainPk(tenant, chain),
    GSI1SK: auditKeys.chainSk(seq),
    GSI2PK: auditKeys.byActorPk(tenant, entry.actor),
    GSI2SK: auditKeys.sk(entry.at, entry.id),
    ...(entry.parentId
      ? { GSI3PK: auditKeys.byParentPk(tenant, entry.parentId), GSI3SK: auditKeys.sk(entry.at, entry.id) }
      : {}),
    entity: "audit",
    ...entry,
    chain,
    seq,
    prevHash,
  }) as Record<string, unknown>;
  return { ...item, hash: entryHash(item) };
}

/**
 * Resolves the audit entries of one transaction: reads the head of each chain they join, numbers the entries of a chain
 * consecutively from it, links their hashes, and writes each chain's head once, conditional on the sequence number
 * read (so a concurrent append to the chain cancels the transaction, and `transact` resolves again and retries).
 */
async function resolveAppends(items: GuardedItem[]): Promise<{ items: GuardedItem[]; extra: GuardedItem[] }> {
  const chains = new Map<string, { tenant: string; chain: number; appends: AuditAppend[] }>();
  for (const i of items) {
    const a = i.deferred as AuditAppend;
    const chain = chainOf(a.entry.entityId);
    const key = `${a.tenant}\u0000${chain}`;
    const c = chains.get(key) ?? { tenant: a.tenant, chain, appends: [] };
    c.appends.push(a);
    chains.set(key, c);
  }
  // Every write of a tenant's data is audited, so this is where a tenant's first data is written from, whatever the
  // path (API, import, job): it enters the registry the nightly jobs (backups, classification) enumerate. Before the
  // write, so no data exists unregistered; once per tenant and process (the registry caches it).
  for (const tenant of new Set([...chains.values()].map((c) => c.tenant))) await registerTenant(tenant);
  const resolved = new Map<AuditAppend, GuardedItem>();
  const heads = await Promise.all(
    [...chains.values()].map(async ({ tenant, chain, appends }): Promise<GuardedItem> => {
      const memo = appends.find((a) => a.heads)?.heads;
      const key = `${tenant}\u0000${chain}`;
      const known = memo?.get(key);
      memo?.delete(key);
      const head = known ?? (await readHead(tenant, chain));
      let seq = head?.seq ?? 0;
      let hash = head?.hash ?? GENESIS_HASH;
      let lastId = "";
      for (const a of appends) {
        seq += 1;
        const item = chainedItem(tenant, a.entry, chain, seq, hash);
        resolved.set(a, {
          item: { Put: { TableName: env.TABLE_NAME, Item: item, ConditionExpression: "attribute_not_exists(PK)" } },
        });
        hash = item.hash;
        lastId = a.entry.id;
      }
      // A Put, not an Update: the head holds nothing but what this append decides.
      return {
        item: {
          Put: {
            TableName: env.TABLE_NAME,
            Item: {
              PK: auditKeys.headPk(tenant, chain),
              SK: auditKeys.headSk(),
              entity: "audit-head",
              chain,
              seq,
              hash,
              entryId: lastId,
            },
            ConditionExpression: head ? "#seq = :read" : "attribute_not_exists(PK)",
            ...(head
              ? { ExpressionAttributeNames: { "#seq": "seq" }, ExpressionAttributeValues: { ":read": head.seq } }
              : {}),
          },
        },
        retryOnConditionFailed: true,
        onConditionFailed: () => new AuditBusy(),
        onCommitted: memo && (() => void memo.set(key, { seq, hash })),
      };
    }),
  );
  return { items: items.map((i) => resolved.get(i.deferred as AuditAppend)!), extra: heads };
}

/**
 * A transaction item that appends `entry` to its tenant's chain. `transact` resolves it just before sending; `item` is
 * the entry without its chain fields, a placeholder that is never written as such.
 */
export function chainAppend(tenant: string, entry: AuditEntry, heads?: HeadMemo): GuardedItem {
  const deferred: AuditAppend = { resolve: resolveAppends, tenant, entry, heads };
  return {
    item: {
      Put: {
        TableName: env.TABLE_NAME,
        Item: asStored({
          PK: auditKeys.pk(tenant, entry.entityId),
          SK: auditKeys.sk(entry.at, entry.id),
          GSI2PK: auditKeys.byActorPk(tenant, entry.actor),
          GSI2SK: auditKeys.sk(entry.at, entry.id),
          entity: "audit",
          ...entry,
        }) as Record<string, unknown>,
        ConditionExpression: "attribute_not_exists(PK)",
      },
    },
    deferred,
  };
}
