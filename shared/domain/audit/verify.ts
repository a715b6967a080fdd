// Verifies a tenant's audit hash chains: walks each chain in sequence order and names the first entry that breaks it.
// Cost: it reads the tenant's whole audit log (every entry once, through GSI1), so it is for admins and a scheduled
// check, not for a page a user opens often.
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { env } from "../../config/env.ts";
import { ddb } from "../../db/client.ts";
import { chainOf, type ChainHead, entryHash, GENESIS_HASH, readHead } from "./chain.ts";
import { AUDIT_CHAINS, auditKeys } from "./keys.ts";

export type AuditBreakKind =
  | "missing-entry" // a sequence number is absent (an entry was deleted), in the middle or at the end of a chain
  | "out-of-order" // a sequence number repeats or goes back
  | "hash-mismatch" // the entry's content no longer matches its hash (it was changed after it was written)
  | "link-mismatch" // prevHash is not the hash of the entry before (an earlier entry was rewritten, hash and all)
  | "key-mismatch" // the entry's keys or chain do not match its content (it was moved or re-indexed)
  | "head-mismatch"; // the chain's head does not match its last entry (entries cut off, added, or rewritten at the end)

/** Where a chain breaks. For a missing entry, `seq` is the first missing number and there is no entry to name. */
export interface AuditBreak {
  chain: number;
  seq: number;
  entryId?: string;
  entityId?: string;
  kind: AuditBreakKind;
  reason: string;
}

export interface AuditVerification {
  ok: boolean;
  /** Chains checked (all of the tenant's). */
  chains: number;
  /** Entries read, over all chains. */
  entries: number;
  /** The first break of the lowest-numbered broken chain; absent when `ok`. */
  firstBroken?: AuditBreak;
}

type Item = Record<string, unknown>;

/** Checks one entry against the position the walk expects; the first problem found, if any. */
function checkEntry(
  tenant: string,
  chain: number,
  item: Item,
  expected: number,
  prevHash: string,
): AuditBreak | undefined {
  const seq = Number(item.seq);
  const named = (kind: AuditBreakKind, reason: string): AuditBreak => ({
    chain,
    seq,
    entryId: String(item.id),
    entityId: String(item.entityId),
    kind,
    reason,
  });
  if (seq > expected) {
    const missing = seq - 1 > expected ? `seq ${expected} to ${seq - 1} are` : `seq ${expected} is`;
    return {
      chain,
      seq: expected,
      kind: "missing-entry",
      reason: `${missing} missing: ${expected > 1 ? `seq ${expected - 1}` : "the chain's start"} is followed by seq ${seq} (entry ${String(item.id)})`,
    };
  }
  if (!(seq === expected)) return named("out-of-order", `seq ${String(item.seq)} found where seq ${expected} belongs`);
  if (entryHash(item) !== item.hash) {
    return named("hash-mismatch", "the entry's content does not match its hash: it was changed after it was written");
  }
  if (item.prevHash !== prevHash) {
    return named(
      "link-mismatch",
      `prevHash is not the hash of ${expected > 1 ? `seq ${expected - 1}` : "the chain's start"}: an earlier entry was rewritten or replaced`,
    );
  }
  const entityId = String(item.entityId);
  const sk = auditKeys.sk(String(item.at), String(item.id));
  const keysMatch =
    item.chain === chain &&
    chainOf(entityId) === chain &&
    item.PK === auditKeys.pk(tenant, entityId) &&
    item.SK === sk &&
    item.GSI1SK === auditKeys.chainSk(seq) &&
    item.GSI2PK === auditKeys.byActorPk(tenant, String(item.actor)) &&
    item.GSI2SK === sk;
  if (!keysMatch) return named("key-mismatch", "the entry's keys or chain do not match its content");
  return undefined;
}

/** Checks the head read after the walk against the last entry the walk saw. */
function checkHead(chain: number, head: ChainHead | undefined, last: Item | undefined): AuditBreak | undefined {
  const lastSeq = last ? Number(last.seq) : 0;
  const headSeq = head?.seq ?? 0;
  const lastNamed = (reason: string): AuditBreak => ({
    chain,
    seq: lastSeq,
    entryId: String(last!.id),
    entityId: String(last!.entityId),
    kind: "head-mismatch",
    reason,
  });
  if (headSeq > lastSeq) {
    const missing = headSeq > lastSeq + 1 ? `seq ${lastSeq + 1} to ${headSeq} are` : `seq ${headSeq} is`;
    return {
      chain,
      seq: lastSeq + 1,
      kind: "missing-entry",
      reason: `${missing} missing: the head is at seq ${headSeq}, the last entry found is seq ${lastSeq}`,
    };
  }
  if (!last) return undefined;
  if (!head) return lastNamed("the chain has entries but no head");
  if (headSeq < lastSeq) return lastNamed(`the head is at seq ${headSeq}, behind entries up to seq ${lastSeq}`);
  if (head.hash !== last.hash) return lastNamed("the head's hash is not the hash of the chain's last entry");
  return undefined;
}

/** Walks one chain (GSI1, ascending, page by page), then reads its head. */
async function walkChain(tenant: string, chain: number): Promise<{ entries: number; broken?: AuditBreak }> {
  let entries = 0;
  let expected = 1;
  let prevHash = GENESIS_HASH;
  let last: Item | undefined;
  let broken: AuditBreak | undefined;
  let start: Item | undefined;
  do {
    const res = await ddb.send(
      new QueryCommand({
        TableName: env.TABLE_NAME,
        IndexName: "GSI1",
        KeyConditionExpression: "GSI1PK = :pk",
        ExpressionAttributeValues: { ":pk": auditKeys.chainPk(tenant, chain) },
        ScanIndexForward: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of res.Items ?? []) {
      entries++;
      broken ??= checkEntry(tenant, chain, item, expected, prevHash);
      // Go on from what is stored, so one broken entry is reported once and the rest of the chain still counted.
      expected = Math.max(expected, Number(item.seq) || 0) + 1;
      prevHash = String(item.hash);
      last = item;
    }
    start = res.LastEvaluatedKey;
  } while (start);
  // Read after the walk: every entry the walk saw was written together with a head update at least as far.
  broken ??= checkHead(chain, await readHead(tenant, chain), last);
  return { entries, ...(broken ? { broken } : {}) };
}

/**
 * Index reads lag writes by a moment, so an entry appended just now can be missing from GSI1 for a short while.
 * A chain that looks like it lost an entry is walked again before that is reported.
 */
const MISSING_RECHECK_DELAYS_MS = [250, 750];

async function verifyChain(tenant: string, chain: number) {
  let result = await walkChain(tenant, chain);
  for (const delay of MISSING_RECHECK_DELAYS_MS) {
    if (result.broken?.kind !== "missing-entry") break;
    await new Promise((r) => setTimeout(r, delay));
    result = await walkChain(tenant, chain);
  }
  return result;
}

/**
 * Recomputes every hash of the tenant's audit chains (in parallel, one walk per chain), checks each link, the sequence
 * numbers and each chain's head. Reads the whole audit log of the tenant: meant for admins and scheduled checks.
 */
export async function verifyAuditChain(tenant: string): Promise<AuditVerification> {
  const results = await Promise.all(Array.from({ length: AUDIT_CHAINS }, (_, k) => verifyChain(tenant, k)));
  const firstBroken = results.find((r) => r.broken)?.broken;
  return {
    ok: !firstBroken,
    chains: AUDIT_CHAINS,
    entries: results.reduce((n, r) => n + r.entries, 0),
    ...(firstBroken ? { firstBroken } : {}),
  };
}
