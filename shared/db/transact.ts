// Runs one TransactWriteItems and turns a cancelled condition into the domain error of the item that failed.
import { createHash } from "node:crypto";
import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { TransactWriteCommand, type TransactWriteCommandInput } from "@aws-sdk/lib-dynamodb";
import { ConflictError } from "../http/errors.ts";
import { ddb } from "./client.ts";

export type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

/** DynamoDB's limit on the actions of one TransactWriteItems. */
export const MAX_TRANSACTION_ITEMS = 100;

/** A transaction item plus the error to raise when its condition is what cancelled the transaction. */
export interface GuardedItem {
  item: TransactItem;
  onConditionFailed?: () => Error;
  /**
   * Set on an item whose final form depends on state read just before the transaction is sent (an audit entry
   * appended to a hash chain: see shared/domain/audit/chain.ts). `item` is then only a placeholder.
   */
  deferred?: Deferred;
  /**
   * The item's condition guards state another writer may move on concurrently (a chain head's sequence number):
   * when it fails, the deferred items are resolved again and the transaction retried. Once the attempts are used up,
   * `onConditionFailed` is raised as usual.
   */
  retryOnConditionFailed?: boolean;
  /** Called once the transaction holding the item has committed (what a writer learns from its own write). */
  onCommitted?: () => void;
}

/** What a deferred item needs resolved; items with the same `resolve` are resolved together, in one call. */
export interface Deferred {
  resolve: DeferredResolver;
}

/**
 * Builds the concrete items for deferred ones (reading what it needs): `items` has one item per input, in the same
 * order, and takes its place in the transaction; `extra` items (such as chain head updates) are appended.
 */
export type DeferredResolver = (items: GuardedItem[]) => Promise<{ items: GuardedItem[]; extra: GuardedItem[] }>;

/** Attempts when a transaction holds deferred items (head races and conflicts are expected under load). */
const DEFERRED_ATTEMPTS = 8;
/** Attempts of a plain transaction cancelled for a conflict with another writer. */
const PLAIN_ATTEMPTS = 4;

/**
 * Writes all items atomically. When a condition fails, throws the `onConditionFailed` error of the first failing
 * item (or a generic 409). Retries a few times, with jittered back-off, when DynamoDB cancels for a transaction
 * conflict with another writer or when only `retryOnConditionFailed` items failed; deferred items are resolved
 * afresh before every attempt.
 */
export async function transact(items: GuardedItem[], token?: string): Promise<void> {
  const deferred = items.some((i) => i.deferred);
  const attempts = deferred ? DEFERRED_ATTEMPTS : PLAIN_ATTEMPTS;
  for (let attempt = 0; ; attempt++) {
    const sent = deferred ? await resolveDeferred(items) : items;
    if (sent.length > MAX_TRANSACTION_ITEMS) {
      throw new Error(`a transaction holds at most ${MAX_TRANSACTION_ITEMS} items, this one ${sent.length}`);
    }
    try {
      await ddb.send(
        new TransactWriteCommand({
          TransactItems: sent.map((i) => i.item),
          ClientRequestToken: attemptToken(token, deferred ? attempt : 0),
        }),
      );
      for (const i of sent) i.onCommitted?.();
      return;
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw err;
      const reasons = err.CancellationReasons ?? [];
      const failed = reasons.flatMap((r, i) => (r.Code === "ConditionalCheckFailed" ? [i] : []));
      const hard = failed.find((i) => !sent[i]?.retryOnConditionFailed);
      if (hard !== undefined) throw conditionError(sent[hard]);
      const raced = failed.length > 0;
      const conflict = reasons.some((r) => r.Code === "TransactionConflict");
      if (!raced && !conflict) throw err;
      if (attempt + 1 >= attempts) {
        if (raced) throw conditionError(sent[failed[0]!]);
        throw new ConflictError("another change to the same record is in progress; try again");
      }
      await backOff(attempt);
    }
  }
}

function conditionError(item: GuardedItem | undefined): Error {
  return item?.onConditionFailed?.() ?? new ConflictError("the record changed meanwhile");
}

/** Full jitter over an exponential step capped at 320 ms: 8 attempts wait about 1 s in all, at most about 2 s. */
function backOff(attempt: number): Promise<void> {
  const step = Math.min(20 * 2 ** attempt, 320);
  return new Promise((r) => setTimeout(r, step * (0.5 + Math.random())));
}

/**
 * The request token of one attempt. A re-resolved transaction differs from the one sent before, and DynamoDB refuses a
 * token reused with other parameters, so each such attempt gets its own token derived from the caller's.
 */
function attemptToken(token: string | undefined, attempt: number): string | undefined {
  if (token === undefined || attempt === 0) return token;
  return createHash("sha256").update(`${token}#${attempt}`).digest("base64url").slice(0, 36);
}

/** Replaces deferred items by their resolution (grouped by resolver, each group in transaction order) and appends extras. */
async function resolveDeferred(items: GuardedItem[]): Promise<GuardedItem[]> {
  const groups = new Map<DeferredResolver, GuardedItem[]>();
  for (const i of items) {
    if (!i.deferred) continue;
    const group = groups.get(i.deferred.resolve) ?? [];
    group.push(i);
    groups.set(i.deferred.resolve, group);
  }
  const resolved = new Map<GuardedItem, GuardedItem>();
  const extras = await Promise.all(
    [...groups].map(async ([resolve, group]) => {
      const out = await resolve(group);
      if (out.items.length !== group.length) throw new Error("a deferred resolver must return one item per input");
      group.forEach((g, n) => resolved.set(g, out.items[n]!));
      return out.extra;
    }),
  );
  return [...items.map((i) => resolved.get(i) ?? i), ...extras.flat()];
}
