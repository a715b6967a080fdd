// All DynamoDB access for follow-up tasks: the task in its customer's collection with its id pointer, the assignee
// and open-by-due-time indexes, and the profile's follow-up stamp written when a task is completed.
import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { env } from "../../config/env.ts";
import { queryPrefixPage } from "../../db/query.ts";
import { ddb } from "../../db/client.ts";
import { countQuery } from "../../db/query.ts";
import { type GuardedItem, transact } from "../../db/transact.ts";
import { ConflictError, NotFoundError } from "../../http/errors.ts";
import { customerKeys } from "../customers/keys.ts";
import { activityIndex } from "../customers/repository.ts";
import { orderKeys } from "../orders/keys.ts";
import { taskKeys as K } from "./keys.ts";
import type { Task, TaskStatus } from "./schemas.ts";

const table = () => env.TABLE_NAME;
const shards = () => env.LIST_SHARDS;

const KEY_ATTRS = ["PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "entity"];

/** The task as the API shows it (index attributes dropped). */
export function toTask(item: Record<string, unknown>): Task {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!KEY_ATTRS.includes(k)) out[k] = v;
  return out as unknown as Task;
}

/** The stored item: assignee index always, the open-by-due index only while open. */
export function storedTask(tenant: string, t: Task): Record<string, unknown> {
  return {
    PK: K.pk(tenant, t.customerId),
    SK: K.sk(t.id),
    entity: "task",
    GSI2PK: K.assigneePk(tenant, t.assigneeId),
    GSI2SK: K.assigneeSk(t.status, t.dueAt, t.id),
    ...(t.status === "open" && !t.escalatedAt
      ? { GSI1PK: K.duePk(tenant, K.shard(t.id, shards())), GSI1SK: K.dueSk(t.dueAt, t.id) }
      : {}),
    ...t,
  };
}

/** The task and its id pointer, both new, while the customer is live: for the caller's transaction. */
export function taskInsertItems(tenant: string, t: Task): GuardedItem[] {
  return [
    {
      item: {
        Put: { TableName: table(), Item: storedTask(tenant, t), ConditionExpression: "attribute_not_exists(PK)" },
      },
      onConditionFailed: () => new ConflictError("a task with this id already exists"),
    },
    {
      item: {
        Put: {
          TableName: table(),
          Item: { PK: K.refPk(tenant, t.id), SK: K.refSk(), entity: "task-ref", customerId: t.customerId },
          ConditionExpression: "attribute_not_exists(PK)",
        },
      },
    },
    {
      item: {
        ConditionCheck: {
          TableName: table(),
          Key: { PK: customerKeys.pk(tenant, t.customerId), SK: customerKeys.profileSk() },
          ConditionExpression: "attribute_exists(PK) AND attribute_not_exists(deletedAt)",
        },
      },
      onConditionFailed: () => new NotFoundError(`customer ${t.customerId} not found`),
    },
  ];
}

export async function insertTask(tenant: string, t: Task, extras: GuardedItem[]): Promise<void> {
  await transact([...taskInsertItems(tenant, t), ...extras]);
}

/** The customer a task belongs to, from its pointer. */
export async function taskCustomerId(tenant: string, id: string): Promise<string | undefined> {
  const res = await ddb.send(new GetCommand({ TableName: table(), Key: { PK: K.refPk(tenant, id), SK: K.refSk() } }));
  return res.Item?.customerId as string | undefined;
}

export async function getTaskItem(tenant: string, customerId: string, id: string): Promise<Task | undefined> {
  const res = await ddb.send(
    new GetCommand({ TableName: table(), Key: { PK: K.pk(tenant, customerId), SK: K.sk(id) }, ConsistentRead: true }),
  );
  return res.Item ? toTask(res.Item) : undefined;
}

/** True when the customer's collection holds this order (a task may point at one of its customer's orders). */
export async function orderExists(tenant: string, customerId: string, orderId: string): Promise<boolean> {
  const res = await ddb.send(
    new GetCommand({
      TableName: table(),
      Key: { PK: orderKeys.pk(tenant, customerId), SK: orderKeys.sk(orderId) },
      ProjectionExpression: "PK",
    }),
  );
  return !!res.Item;
}

/** Replaces a task if it is still at `before.version`, plus `extras`, atomically. */
export function taskReplaceItem(tenant: string, before: Task, after: Task): GuardedItem {
  return {
    item: {
      Put: {
        TableName: table(),
        Item: storedTask(tenant, after),
        ConditionExpression: "version = :v",
        ExpressionAttributeValues: { ":v": before.version },
      },
    },
    onConditionFailed: () =>
      new ConflictError(`task ${before.id} was changed by someone else; read it again and retry with the new version`),
  };
}

export async function replaceTask(tenant: string, before: Task, after: Task, extras: GuardedItem[]): Promise<void> {
  await transact([taskReplaceItem(tenant, before, after), ...extras]);
}

/**
 * Completing a follow-up is activity: the profile's `stats.lastFollowUpAt` and its activity-index row move to `at`
 * (SET on those attributes only, so it commutes with every other writer of the profile).
 */
export function followUpStamp(tenant: string, customerId: string, at: string): GuardedItem {
  const act = activityIndex(tenant, customerId, at);
  return {
    item: {
      Update: {
        TableName: table(),
        Key: { PK: customerKeys.pk(tenant, customerId), SK: customerKeys.profileSk() },
        UpdateExpression: "SET #st.#fu = :at, GSI3PK = :pk, GSI3SK = :sk",
        ConditionExpression: "attribute_exists(PK)",
        ExpressionAttributeNames: { "#st": "stats", "#fu": "lastFollowUpAt" },
        ExpressionAttributeValues: { ":at": at, ":pk": act.GSI3PK, ":sk": act.GSI3SK },
      },
    },
    onConditionFailed: () => new NotFoundError(`customer ${customerId} not found`),
  };
}

export interface Page {
  items: Task[];
  state?: Record<string, unknown>;
}

/** An assignee's tasks of one status, by due time (optionally within [from, to]). */
export async function queryByAssignee(
  tenant: string,
  userId: string,
  status: TaskStatus,
  window: { from?: string; to?: string },
  limit: number,
  start: Record<string, unknown> | undefined,
): Promise<Page> {
  const lo = K.assigneeSk(status, window.from ?? "", "");
  const hi = K.assigneeSk(status, window.to ?? "~", "~");
  const res = await ddb.send(
    new QueryCommand({
      TableName: table(),
      IndexName: "GSI2",
      KeyConditionExpression: "GSI2PK = :pk AND GSI2SK BETWEEN :lo AND :hi",
      ExpressionAttributeValues: { ":pk": K.assigneePk(tenant, userId), ":lo": lo, ":hi": hi },
      Limit: limit,
      ExclusiveStartKey: start,
    }),
  );
  return { items: (res.Items ?? []).map(toTask), state: res.LastEvaluatedKey };
}

/** A customer's tasks of one status (optionally due within [from, to]). */
export async function queryByCustomer(
  tenant: string,
  customerId: string,
  status: TaskStatus,
  window: { from?: string; to?: string },
  limit: number,
  start: Record<string, unknown> | undefined,
): Promise<Page> {
  const values: Record<string, unknown> = { ":s": status };
  const filters = ["#s = :s"];
  if (window.from) {
    values[":from"] = window.from;
    filters.push("dueAt >= :from");
  }
  if (window.to) {
    values[":to"] = window.to;
    filters.push("dueAt <= :to");
  }
  const page = await queryPrefixPage({
    pk: K.pk(tenant, customerId),
    prefix: K.prefix(),
    limit,
    start,
    filter: { expression: filters.join(" AND "), names: { "#s": "status" }, values },
  });
  return { items: page.items.map(toTask), state: page.state };
}

/** Open tasks of the tenant due before `before` and not escalated yet, from every shard of the open-by-due index. */
export async function queryOverdue(tenant: string, before: string, perShard = 200): Promise<Task[]> {
  const out: Task[] = [];
  await Promise.all(
    Array.from({ length: shards() }, async (_, shard) => {
      let start: Record<string, unknown> | undefined;
      let read = 0;
      do {
        const res = await ddb.send(
          new QueryCommand({
            TableName: table(),
            IndexName: "GSI1",
            KeyConditionExpression: "GSI1PK = :pk AND GSI1SK < :before",
            FilterExpression: "attribute_not_exists(escalatedAt)",
            ExpressionAttributeValues: { ":pk": K.duePk(tenant, shard), ":before": before },
            ExclusiveStartKey: start,
          }),
        );
        for (const i of res.Items ?? []) out.push(toTask(i));
        read += res.Items?.length ?? 0;
        start = res.LastEvaluatedKey;
      } while (start && read < perShard);
    }),
  );
  return out;
}

/**
 * Marks an open task escalated (once: the condition is the guard) and takes it off the overdue index. Not a version
 * change: a user editing the task meanwhile keeps their version.
 */
export function escalationItem(tenant: string, t: Task, to: string | undefined, at: string): GuardedItem {
  return {
    item: {
      Update: {
        TableName: table(),
        Key: { PK: K.pk(tenant, t.customerId), SK: K.sk(t.id) },
        UpdateExpression: `SET escalatedAt = :at${to ? ", escalatedTo = :to" : ""} REMOVE GSI1PK, GSI1SK`,
        ConditionExpression: "attribute_not_exists(escalatedAt) AND #s = :open AND dueAt = :due",
        ExpressionAttributeNames: { "#s": "status" },
        ExpressionAttributeValues: { ":at": at, ":open": "open", ":due": t.dueAt, ...(to ? { ":to": to } : {}) },
      },
    },
    onConditionFailed: () => new ConflictError(`task ${t.id} changed meanwhile`),
  };
}

/** How many open tasks a user is assigned (a handover's total). */
export async function countOpenTasksOf(tenant: string, userId: string): Promise<number> {
  return countQuery({
    TableName: table(),
    IndexName: "GSI2",
    KeyConditionExpression: "GSI2PK = :pk AND begins_with(GSI2SK, :open)",
    ExpressionAttributeValues: { ":pk": K.assigneePk(tenant, userId), ":open": K.assigneeStatusPrefix("open") },
  });
}
