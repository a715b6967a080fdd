// Audit entries: one item per write, appended to its tenant's hash chain in the same transaction as the write it
// records; read by entity or by user, verified chain by chain (verify.ts).
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { env } from "../../config/env.ts";
import { ddb } from "../../db/client.ts";
import { decodeCursor, encodeCursor } from "../../db/cursor.ts";
import { newId } from "../../db/ids.ts";
import type { GuardedItem } from "../../db/transact.ts";
import { chainAppend, type HeadMemo } from "./chain.ts";
import { auditKeys } from "./keys.ts";

export { AUDIT_CHAINS, auditKeys } from "./keys.ts";

export type AuditAction = "create" | "update" | "delete" | "restore";

export interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  action: AuditAction;
  entityType: string;
  entityId: string;
  /** The customer a contact (or later an order) belongs to, so a customer's history can include its children. */
  parentId?: string;
  changes: string[];
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  requestId?: string;
  /** Position in the tenant's hash chains: chain number, sequence number in it, and the hashes linking it. */
  chain?: number;
  seq?: number;
  prevHash?: string;
  hash?: string;
}

/** Names of top-level fields whose values differ between two images. */
export function changedFields(before: Record<string, unknown> | null, after: Record<string, unknown> | null): string[] {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  const skip = new Set(["version", "updatedAt", "updatedBy"]);
  return [...keys].filter((k) => !skip.has(k) && JSON.stringify(before?.[k]) !== JSON.stringify(after?.[k])).sort();
}

/** What a write path says about itself; the id, the changed field names (by default) and the chain fields are added. */
export type AuditInput = Omit<AuditEntry, "id" | "changes" | "chain" | "seq" | "prevHash" | "hash"> & {
  changes?: string[];
};

/**
 * A transaction item that appends one audit entry. The entry joins the chain of its entity; `transact` reads that
 * chain's head just before sending (or takes the one `heads` remembers) and adds the head update (see chain.ts).
 */
export function auditPut(tenant: string, e: AuditInput, heads?: HeadMemo): GuardedItem {
  const entry: AuditEntry = { ...e, id: newId(), changes: e.changes ?? changedFields(e.before, e.after) };
  return chainAppend(tenant, entry, heads);
}

export interface AuditQuery {
  entityId?: string;
  userId?: string;
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
}

function toEntry(item: Record<string, unknown>): AuditEntry {
  const {
    PK: _pk,
    SK: _sk,
    GSI1PK: _cp,
    GSI1SK: _cs,
    GSI2PK: _g,
    GSI2SK: _s,
    GSI3PK: _pp,
    GSI3SK: _ps,
    entity: _e,
    ...rest
  } = item;
  return rest as unknown as AuditEntry;
}

/** Newest first; by entity (main table) or by actor (GSI2), optionally within [from, to]. */
export async function queryAudit(tenant: string, q: AuditQuery) {
  const scope = JSON.stringify(["audit", q.entityId, q.userId, q.from, q.to]);
  const start = decodeCursor<Record<string, unknown>>(tenant, scope, q.cursor);
  const byEntity = q.entityId !== undefined;
  const pkName = byEntity ? "PK" : "GSI2PK";
  const skName = byEntity ? "SK" : "GSI2SK";
  const pk = byEntity ? auditKeys.pk(tenant, q.entityId!) : auditKeys.byActorPk(tenant, q.userId!);
  const names: Record<string, string> = { "#pk": pkName };
  const values: Record<string, unknown> = { ":pk": pk };
  let cond = "#pk = :pk";
  if (q.from || q.to) {
    names["#sk"] = skName;
    values[":from"] = q.from ?? "0";
    values[":to"] = `${q.to ?? "9999"}\uffff`;
    cond += " AND #sk BETWEEN :from AND :to";
  }
  const res = await ddb.send(
    new QueryCommand({
      TableName: env.TABLE_NAME,
      IndexName: byEntity ? undefined : "GSI2",
      KeyConditionExpression: cond,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ScanIndexForward: false,
      Limit: q.limit,
      ExclusiveStartKey: start,
    }),
  );
  const entries = (res.Items ?? []).filter((i) => i.entity === "audit").map(toEntry);
  // When filtering by both, the entity partition is read and the actor applied as a filter.
  const items = byEntity && q.userId ? entries.filter((e) => e.actor === q.userId) : entries;
  return { items, nextCursor: res.LastEvaluatedKey ? encodeCursor(tenant, scope, res.LastEvaluatedKey) : null };
}

/**
 * Every audit entry of the children of `parentId` (entries carrying it as `parentId`) written after `after`, oldest
 * first (GSI3; an entry appended a moment ago may not be in the index yet).
 */
export async function auditOfChildren(tenant: string, parentId: string, after: string): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const res = await ddb.send(
      new QueryCommand({
        TableName: env.TABLE_NAME,
        IndexName: "GSI3",
        KeyConditionExpression: "GSI3PK = :pk AND GSI3SK > :after",
        ExpressionAttributeValues: { ":pk": auditKeys.byParentPk(tenant, parentId), ":after": `${after}\uffff` },
        ExclusiveStartKey: start,
      }),
    );
    out.push(...(res.Items ?? []).filter((i) => i.entity === "audit").map(toEntry));
    start = res.LastEvaluatedKey;
  } while (start);
  return out;
}
