// Every DynamoDB key of follow-up tasks: the task in its customer's item collection, its id pointer and its indexes.
import { shardOf } from "../../db/ids.ts";
import { customerKeys } from "../customers/keys.ts";

/**
 * A task lives in its customer's collection (SK TASK#<id>, sorting after PROFILE and before search tokens) so the 360
 * view reads open tasks with the one Query it already makes. A pointer (T#t#TASK#<id> / REF) finds the customer
 * from the task id. GSI2 lists an assignee's tasks by status and due time; GSI1 holds open tasks only, by due time
 * over shards, for escalation of overdue ones.
 */
export const taskKeys = {
  pk: (tenant: string, customerId: string) => customerKeys.pk(tenant, customerId),
  sk: (id: string) => `TASK#${id}`,
  prefix: () => "TASK#",
  refPk: (tenant: string, id: string) => `T#${tenant}#TASK#${id}`,
  refSk: () => "REF",
  assigneePk: (tenant: string, userId: string) => `T#${tenant}#TASKS#${userId}`,
  assigneeSk: (status: string, dueAt: string, id: string) => `${status}#${dueAt}#${id}`,
  assigneeStatusPrefix: (status: string) => `${status}#`,
  duePk: (tenant: string, shard: number) => `T#${tenant}#TASKDUE#${shard}`,
  dueSk: (dueAt: string, id: string) => `${dueAt}#${id}`,
  shard: (id: string, shards: number) => shardOf(id, shards),
};
