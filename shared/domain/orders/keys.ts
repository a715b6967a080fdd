// Every DynamoDB key of orders: the order in its customer's item collection, its id pointer, and the scoped lists.
import { shardOf } from "../../db/ids.ts";

/**
 * The order lives in the customer's collection (PK = the customer's, SK = ORDER#<id>, sorting before PROFILE) so the
 * 360 view reads it with the customer. A pointer item (PK T#t#ORDER#<id>) finds the customer from the order id alone.
 * Lists mirror the customers' scope indexes: GSI1 (whole tenant, sharded), GSI2 (by owner), GSI4 (by department path).
 */
export const orderKeys = {
  pk: (tenant: string, customerId: string) => `T#${tenant}#CUST#${customerId}`,
  sk: (id: string) => `ORDER#${id}`,
  prefix: () => "ORDER#",
  refPk: (tenant: string, id: string) => `T#${tenant}#ORDER#${id}`,
  refSk: () => "REF",
  /** Guard of an order number (its code), unique per tenant whatever its case: API-numbered and imported alike. */
  codeGuardPk: (tenant: string, code: string) => `T#${tenant}#ORDERCODE#${code.toUpperCase()}`,
  guardSk: () => "GUARD",
  listPk: (tenant: string, shard: number) => `T#${tenant}#ORDERS#${shard}`,
  ownerPk: (tenant: string, ownerId: string) => `T#${tenant}#ORDOWNER#${ownerId}`,
  scopePk: (tenant: string, shard: number) => `T#${tenant}#ORDDEPT#${shard}`,
  scopeSk: (deptPath: string, id: string) => `${deptPath}#${id}`,
  scopePrefix: (deptPath: string, tree: boolean) => (tree ? deptPath : `${deptPath}#`),
  /** GSI3: orders by status and the time they reached it, sharded (reminders after an order reaches a status). */
  statusPk: (tenant: string, status: string, shard: number) => `T#${tenant}#ORDSTATUS#${status}#${shard}`,
  statusSk: (at: string, id: string) => `${at}#${id}`,
  shard: (id: string, shards: number) => shardOf(id, shards),
};
