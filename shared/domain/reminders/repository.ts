// All DynamoDB access for reminder rules (with their planning state), fired guards, e-mail send records, replan
// markers and inboxes.
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { env } from "../../config/env.ts";
import { ddb } from "../../db/client.ts";
import { queryAll } from "../../db/query.ts";
import type { GuardedItem } from "../../db/transact.ts";
import { newId } from "../../db/ids.ts";
import { ConflictError, NotFoundError } from "../../http/errors.ts";
import { fieldsOf } from "../conditions/condition.ts";
import { reminderKeys as K } from "./keys.ts";
import type { Notification, ReminderRule } from "./schemas.ts";

const table = () => env.TABLE_NAME;
const shards = () => env.LIST_SHARDS;

const strip = <T>(item: Record<string, unknown>): T => {
  const { PK: _p, SK: _s, entity: _e, ...rest } = item;
  return rest as T;
};

export async function listRules(tenant: string): Promise<ReminderRule[]> {
  const items = await queryAll({
    TableName: table(),
    KeyConditionExpression: "PK = :pk AND begins_with(SK, :p)",
    ExpressionAttributeValues: { ":pk": K.rulesPk(tenant), ":p": K.rulePrefix() },
    ConsistentRead: true,
  });
  return items.map((i) => strip<ReminderRule>(i));
}

export async function getRule(tenant: string, id: string): Promise<ReminderRule | undefined> {
  const res = await ddb.send(
    new GetCommand({ TableName: table(), Key: { PK: K.rulesPk(tenant), SK: K.ruleSk(id) }, ConsistentRead: true }),
  );
  return res.Item ? strip<ReminderRule>(res.Item) : undefined;
}

/** A new rule, plus the tenant's entry in the reminder tenants list (so the schedule reaches it). */
export function ruleInsertItems(tenant: string, r: ReminderRule): GuardedItem[] {
  return [
    {
      item: {
        Put: {
          TableName: table(),
          Item: { PK: K.rulesPk(tenant), SK: K.ruleSk(r.id), entity: "reminder-rule", ...r },
          ConditionExpression: "attribute_not_exists(PK)",
        },
      },
      onConditionFailed: () => new ConflictError("a rule with this id already exists"),
    },
    rulesTokenMove(tenant),
    {
      item: {
        Put: {
          TableName: table(),
          Item: { PK: K.tenantsPk(), SK: K.tenantSk(tenant), entity: "reminder-tenant", tenant },
        },
      },
    },
  ];
}

/** Replaces a rule at `expected`; `replan` drops its planning state so the next tick plans it from the start. */
export function ruleReplaceItems(tenant: string, r: ReminderRule, expected: number, replan: boolean): GuardedItem[] {
  return [
    {
      item: {
        Put: {
          TableName: table(),
          Item: { PK: K.rulesPk(tenant), SK: K.ruleSk(r.id), entity: "reminder-rule", ...r },
          ConditionExpression: "version = :v",
          ExpressionAttributeValues: { ":v": expected },
        },
      },
      onConditionFailed: () => new ConflictError(`rule ${r.id} was changed by someone else; read it again`),
    },
    rulesTokenMove(tenant),
    ...(replan ? [stateDelete(tenant, r.id)] : []),
  ];
}

export function ruleDeleteItems(tenant: string, id: string, expected: number | undefined): GuardedItem[] {
  return [
    {
      item: {
        Delete: {
          TableName: table(),
          Key: { PK: K.rulesPk(tenant), SK: K.ruleSk(id) },
          ConditionExpression: expected === undefined ? "attribute_exists(PK)" : "version = :v",
          ...(expected === undefined ? {} : { ExpressionAttributeValues: { ":v": expected } }),
        },
      },
      onConditionFailed: () => new ConflictError(`rule ${id} was changed or deleted meanwhile`),
    },
    rulesTokenMove(tenant),
    stateDelete(tenant, id),
  ];
}

/**
 * The tenant's rules token takes a new value with every rule write (in the rule's own transaction), so a writer that
 * decided something from the rules it read can make its write conditional on them being still the same rules.
 */
function rulesTokenMove(tenant: string): GuardedItem {
  return {
    item: {
      Put: {
        TableName: table(),
        Item: { PK: K.rulesPk(tenant), SK: K.rulesTokenSk(), entity: "reminder-rules-token", token: newId() },
      },
    },
  };
}

/** The tenant's rules token (read consistently), or undefined while no rule was ever written. */
export async function rulesToken(tenant: string): Promise<string | undefined> {
  const res = await ddb.send(
    new GetCommand({
      TableName: table(),
      Key: { PK: K.rulesPk(tenant), SK: K.rulesTokenSk() },
      ConsistentRead: true,
    }),
  );
  return res.Item?.token as string | undefined;
}

/** Thrown when the rules changed between a read of {@link rulesToken} and a transaction checking it. */
export class RulesChangedError extends ConflictError {
  constructor() {
    super("the reminder rules changed meanwhile; try again");
  }
}

/** A transaction item that holds only while the tenant's rules token is still `token`. */
export function rulesUnchanged(tenant: string, token: string | undefined): GuardedItem {
  return {
    item: {
      ConditionCheck: {
        TableName: table(),
        Key: { PK: K.rulesPk(tenant), SK: K.rulesTokenSk() },
        ConditionExpression: token === undefined ? "attribute_not_exists(PK)" : "#t = :t",
        ...(token === undefined
          ? {}
          : { ExpressionAttributeNames: { "#t": "token" }, ExpressionAttributeValues: { ":t": token } }),
      },
    },
    onConditionFailed: () => new RulesChangedError(),
  };
}

function stateDelete(tenant: string, id: string): GuardedItem {
  return { item: { Delete: { TableName: table(), Key: { PK: K.rulesPk(tenant), SK: K.stateSk(id) } } } };
}

/**
 * A rule's planning state: `watermark` is the cutoff up to which every due customer has been fired; `pending` a
 * tick in progress (its cutoff and each shard's last key), so a run cut short resumes where it stopped.
 */
export interface RuleState {
  ruleVersion?: number;
  watermark?: string;
  pending?: { cutoff: string; after: (string | null | "done")[] };
  /** Date rules: every customer has been looked at once (plan items exist); customer changes keep them current. */
  planned?: boolean;
  rev: number;
}

/**
 * Saves the state if nobody else moved it since `rev` (overlapping ticks: the one that loses simply stops; the other
 * carries on). Resolves false when it lost.
 */
export async function saveRuleState(tenant: string, id: string, next: Omit<RuleState, "rev">, rev: number) {
  try {
    await ddb.send(
      new UpdateCommand({
        TableName: table(),
        Key: { PK: K.rulesPk(tenant), SK: K.stateSk(id) },
        UpdateExpression: "SET entity = :e, #rev = :next, #st = :st",
        ConditionExpression: rev === 0 ? "attribute_not_exists(#rev)" : "#rev = :rev",
        ExpressionAttributeNames: { "#rev": "rev", "#st": "state" },
        ExpressionAttributeValues: {
          ":e": "reminder-state",
          ":next": rev + 1,
          ":st": next,
          ...(rev === 0 ? {} : { ":rev": rev }),
        },
      }),
    );
    return true;
  } catch (err) {
    if ((err as Error).name === "ConditionalCheckFailedException") return false;
    throw err;
  }
}

export async function readRuleState(tenant: string, id: string): Promise<RuleState> {
  const res = await ddb.send(
    new GetCommand({ TableName: table(), Key: { PK: K.rulesPk(tenant), SK: K.stateSk(id) }, ConsistentRead: true }),
  );
  if (!res.Item) return { rev: 0 };
  return { ...(res.Item.state as Omit<RuleState, "rev">), rev: res.Item.rev as number };
}

/** The tenants with reminder rules, a page at a time. */
export async function listReminderTenants(start?: Record<string, unknown>) {
  const res = await ddb.send(
    new QueryCommand({
      TableName: table(),
      KeyConditionExpression: "PK = :pk",
      ExpressionAttributeValues: { ":pk": K.tenantsPk() },
      ExclusiveStartKey: start,
    }),
  );
  return { tenants: (res.Items ?? []).map((i) => i.tenant as string), next: res.LastEvaluatedKey };
}

/** The guard of one rule, customer and period: the transaction fails (and writes nothing) when it exists. */
export function firedGuard(
  tenant: string,
  ruleId: string,
  customerId: string,
  period: string,
  at: string,
  fired: FiredIds = {},
): GuardedItem {
  return {
    item: {
      Put: {
        TableName: table(),
        Item: {
          PK: K.firedPk(tenant, ruleId, customerId),
          SK: K.firedSk(period),
          entity: "reminder-fired",
          at,
          ...fired,
        },
        ConditionExpression: "attribute_not_exists(PK)",
      },
    },
    onConditionFailed: () => new AlreadyFired(),
  };
}

export class AlreadyFired extends ConflictError {
  constructor() {
    super("this reminder has already fired for this period");
  }
}

/** What a fire created, kept on its guard so a repeat can deliver the same reminder's e-mails that a crash lost. */
export interface FiredIds {
  taskId?: string;
  notificationId?: string;
  userId?: string;
}

/** The guard of (rule, customer, period) with the ids of what it created, or undefined. */
export async function readFired(tenant: string, ruleId: string, customerId: string, period: string) {
  const res = await ddb.send(
    new GetCommand({
      TableName: table(),
      Key: { PK: K.firedPk(tenant, ruleId, customerId), SK: K.firedSk(period) },
      ConsistentRead: true,
    }),
  );
  return res.Item as (FiredIds & { at: string }) | undefined;
}

/** Identifies one e-mail of one fired reminder (rule, customer, period and the rule's channel index). */
export interface SendKey {
  ruleId: string;
  customerId: string;
  period: string;
  channel: number;
}

/** A claim older than this is taken to be a crashed sender's (longer than any invocation). */
export const SEND_CLAIM_MS = 16 * 60_000;

/**
 * Claims the right to send one e-mail: true when nobody has sent it and nobody is sending it (or the one who claimed
 * it did so long enough ago to have crashed).
 */
export async function claimSend(tenant: string, key: SendKey, at: Date): Promise<boolean> {
  try {
    await ddb.send(
      new PutCommand({
        TableName: table(),
        Item: {
          PK: K.sentPk(tenant, key.ruleId, key.customerId),
          SK: K.sentSk(key.period, key.channel),
          entity: "reminder-sent",
          status: "sending",
          claimedAt: at.toISOString(),
        },
        ConditionExpression: "attribute_not_exists(PK) OR (#s = :sending AND claimedAt < :stale)",
        ExpressionAttributeNames: { "#s": "status" },
        ExpressionAttributeValues: {
          ":sending": "sending",
          ":stale": new Date(at.getTime() - SEND_CLAIM_MS).toISOString(),
        },
      }),
    );
    return true;
  } catch (err) {
    if ((err as Error).name === "ConditionalCheckFailedException") return false;
    throw err;
  }
}

/** Records a claimed e-mail as sent (with the provider's message id). */
export async function markSent(tenant: string, key: SendKey, messageId: string, at: Date) {
  await ddb.send(
    new UpdateCommand({
      TableName: table(),
      Key: { PK: K.sentPk(tenant, key.ruleId, key.customerId), SK: K.sentSk(key.period, key.channel) },
      UpdateExpression: "SET #s = :sent, messageId = :m, sentAt = :at",
      ExpressionAttributeNames: { "#s": "status" },
      ExpressionAttributeValues: { ":sent": "sent", ":m": messageId, ":at": at.toISOString() },
    }),
  );
}

/** Gives a claim up after a failed send, so a later attempt may send (only the claimant's own claim). */
export async function releaseSend(tenant: string, key: SendKey, claimedAt: Date) {
  await ddb
    .send(
      new DeleteCommand({
        TableName: table(),
        Key: { PK: K.sentPk(tenant, key.ruleId, key.customerId), SK: K.sentSk(key.period, key.channel) },
        ConditionExpression: "#s = :sending AND claimedAt = :c",
        ExpressionAttributeNames: { "#s": "status" },
        ExpressionAttributeValues: { ":sending": "sending", ":c": claimedAt.toISOString() },
      }),
    )
    .catch((err: Error) => {
      if (err.name !== "ConditionalCheckFailedException") throw err;
    });
}

export async function wasFired(tenant: string, ruleId: string, customerId: string, period: string) {
  const res = await ddb.send(
    new GetCommand({ TableName: table(), Key: { PK: K.firedPk(tenant, ruleId, customerId), SK: K.firedSk(period) } }),
  );
  return !!res.Item;
}

/** Marks a customer for re-planning on the next tick (in the transaction of the write that changed it). */
/**
 * Whether a change of a customer's classification needs a re-plan marker: only when an enabled rule selects customers
 * by category or value score (no trigger depends on them; a rule created or changed later plans every customer from
 * the start). `check` holds the transaction that skips the markers to the rules this was decided from.
 */
export interface ClassificationReplan {
  markers: boolean;
  check?: GuardedItem;
  /** The rules token the decision was made from (a writer without `check` compares it again after its writes). */
  token?: string;
}

export async function classificationReplan(tenant: string): Promise<ClassificationReplan> {
  const token = await rulesToken(tenant); // first: a rule written after this read moves it, and the check fails
  const rules = await listRules(tenant);
  const markers = rules.some(
    (r) =>
      r.enabled !== false &&
      !!r.when &&
      fieldsOf(r.when).some((f) => f === "valueScore" || f.startsWith("categories.")),
  );
  return markers ? { markers, token } : { markers, check: rulesUnchanged(tenant, token), token };
}

export function replanMarker(tenant: string, customerId: string, at: string): GuardedItem {
  return {
    item: {
      Put: {
        TableName: table(),
        Item: {
          PK: K.replanPk(tenant, K.shard(customerId, shards())),
          SK: K.replanSk(customerId),
          entity: "reminder-replan",
          customerId,
          at,
        },
      },
    },
  };
}

export async function listReplanMarkers(tenant: string): Promise<{ customerId: string; at: string }[]> {
  const out: { customerId: string; at: string }[] = [];
  await Promise.all(
    Array.from({ length: shards() }, async (_, shard) => {
      let start: Record<string, unknown> | undefined;
      do {
        const res = await ddb.send(
          new QueryCommand({
            TableName: table(),
            KeyConditionExpression: "PK = :pk",
            ExpressionAttributeValues: { ":pk": K.replanPk(tenant, shard) },
            ExclusiveStartKey: start,
          }),
        );
        for (const i of res.Items ?? []) out.push({ customerId: i.customerId as string, at: i.at as string });
        start = res.LastEvaluatedKey;
      } while (start && out.length < 1000);
    }),
  );
  return out;
}

/** Removes a marker unless the customer changed again since (then the next tick handles it). */
export async function clearReplanMarker(tenant: string, customerId: string, at: string): Promise<void> {
  await ddb
    .send(
      new DeleteCommand({
        TableName: table(),
        Key: { PK: K.replanPk(tenant, K.shard(customerId, shards())), SK: K.replanSk(customerId) },
        ConditionExpression: "#at = :at",
        ExpressionAttributeNames: { "#at": "at" },
        ExpressionAttributeValues: { ":at": at },
      }),
    )
    .catch((err: Error) => {
      if (err.name !== "ConditionalCheckFailedException") throw err;
    });
}

export function notificationPut(tenant: string, n: Notification): GuardedItem {
  return {
    item: {
      Put: {
        TableName: table(),
        Item: { PK: K.inboxPk(tenant, n.userId), SK: K.inboxSk(n.id), entity: "notification", ...n },
        ConditionExpression: "attribute_not_exists(PK)",
      },
    },
  };
}

/** A user's notifications, newest first. */
export async function queryInbox(
  tenant: string,
  userId: string,
  unread: boolean | undefined,
  limit: number,
  start: Record<string, unknown> | undefined,
) {
  const res = await ddb.send(
    new QueryCommand({
      TableName: table(),
      KeyConditionExpression: "PK = :pk",
      ...(unread === undefined ? {} : { FilterExpression: "#r = :r", ExpressionAttributeNames: { "#r": "read" } }),
      ExpressionAttributeValues: {
        ":pk": K.inboxPk(tenant, userId),
        ...(unread === undefined ? {} : { ":r": !unread }),
      },
      ScanIndexForward: false,
      Limit: limit,
      ExclusiveStartKey: start,
    }),
  );
  return { items: (res.Items ?? []).map((i) => strip<Notification>(i)), state: res.LastEvaluatedKey };
}

/** Marks one of the user's notifications read or unread; 404 for anyone else's. */
export async function markNotification(tenant: string, userId: string, id: string, read: boolean, at: string) {
  try {
    const res = await ddb.send(
      new UpdateCommand({
        TableName: table(),
        Key: { PK: K.inboxPk(tenant, userId), SK: K.inboxSk(id) },
        UpdateExpression: read ? "SET #r = :r, readAt = :at" : "SET #r = :r REMOVE readAt",
        ConditionExpression: "attribute_exists(PK)",
        ExpressionAttributeNames: { "#r": "read" },
        ExpressionAttributeValues: { ":r": read, ...(read ? { ":at": at } : {}) },
        ReturnValues: "ALL_NEW",
      }),
    );
    return strip<Notification>(res.Attributes!);
  } catch (err) {
    if ((err as Error).name === "ConditionalCheckFailedException")
      throw new NotFoundError(`notification ${id} not found`);
    throw err;
  }
}
