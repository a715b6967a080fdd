// Sales rollups kept at write time: revenue and order counts per month and group value, cut by department and owner
// so a scoped viewer sums only its own cells. Reports read these cells (Queries), never orders.
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { env } from "../../config/env.ts";
import { ddb } from "../../db/client.ts";
import type { GuardedItem } from "../../db/transact.ts";
import type { CustomerItem } from "../customers/repository.ts";
import type { OrderRecord } from "./present.ts";

export const GROUP_BYS = ["month", "region", "industry", "level", "owner"] as const;
export type GroupBy = (typeof GROUP_BYS)[number];

/** What an order is grouped by, frozen at approval so later reversals land in the same cells. */
export interface RollupKeys {
  month: string;
  region: string;
  industry: string;
  level: string;
  owner: string;
  deptPath: string;
}

export const rollupKeys = {
  /** One partition per group-by and month (UTC month of the approval). */
  cellPk: (tenant: string, groupBy: GroupBy | "customer", month: string) => `T#${tenant}#SALES#${groupBy}#${month}`,
  /** Department path first, so `dept`/`dept_tree` scopes are a begins_with; the owner is filtered. */
  cellSk: (deptPath: string, owner: string, value: string) => `${deptPath}#${owner}#${value}`,
  scopePrefix: (deptPath: string, tree: boolean) => (tree ? deptPath : `${deptPath}#`),
};

/** The group values of an order's customer at approval ("-" for missing). */
export function keysOf(o: OrderRecord, c: CustomerItem): RollupKeys {
  const at = o.approvedAt ?? o.updatedAt;
  return {
    month: at.slice(0, 7),
    region: c.region ? String(c.region).slice(0, 2) : "-",
    industry: c.industry ?? "-",
    level: c.level ?? "-",
    owner: c.ownerId,
    deptPath: c.deptPath ?? "-",
  };
}

/**
 * The rollup updates of one booking change: `revenue` fen (negative for reversals), an order counted on approval
 * (and uncounted on cancel), the customer added to each cell's customer set on approval.
 */
export function salesRollups(
  tenant: string,
  o: OrderRecord & { rollup?: RollupKeys },
  c: CustomerItem,
  revenue: number,
  approval: boolean,
): GuardedItem[] {
  if (approval) o.rollup = keysOf(o, c);
  const k = o.rollup ?? keysOf(o, c);
  const orders = approval ? 1 : revenue < 0 && o.status === "cancelled" ? -1 : 0;
  return cellUpdates(tenant, k, o.customerId, c.name, { revenue, orders }, approval);
}

/** A move of the cells of one set of rollup keys: revenue (fen) and counted orders. */
export interface CellDelta {
  revenue: number;
  orders: number;
}

/**
 * The six cell updates (one per group-by and the customer's) moving `delta` under `k`; `addCustomer` also adds the
 * customer to each cell's customer set (on approval).
 */
export function cellUpdates(
  tenant: string,
  k: RollupKeys,
  customerId: string,
  customerName: string | undefined,
  delta: CellDelta,
  addCustomer = false,
): GuardedItem[] {
  const update = (groupBy: GroupBy | "customer", value: string, name?: string): GuardedItem => ({
    item: {
      Update: {
        TableName: env.TABLE_NAME,
        Key: { PK: rollupKeys.cellPk(tenant, groupBy, k.month), SK: rollupKeys.cellSk(k.deptPath, k.owner, value) },
        UpdateExpression:
          "ADD revenue :r, orders :n" +
          (addCustomer ? ", customers :c" : "") +
          " SET entity = :e, groupValue = :v, ownerId = :o, deptPath = :d" +
          (name ? ", customerName = :name" : ""),
        ExpressionAttributeValues: {
          ":r": delta.revenue,
          ":n": delta.orders,
          ...(addCustomer ? { ":c": new Set([customerId]) } : {}),
          ":e": "sales-cell",
          ":v": value,
          ":o": k.owner,
          ":d": k.deptPath,
          ...(name ? { ":name": name } : {}),
        },
      },
    },
  });
  return [
    update("month", k.month),
    update("region", k.region),
    update("industry", k.industry),
    update("level", k.level),
    update("owner", k.owner),
    update("customer", customerId, customerName),
  ];
}

export interface Cell {
  groupValue: string;
  ownerId: string;
  deptPath: string;
  revenue: number;
  orders: number;
  customers: Set<string>;
  customerName?: string;
}

/** Every cell of one group-by and month under a department prefix (or all), owner-filtered for `own`. */
export async function readCells(
  tenant: string,
  groupBy: GroupBy | "customer",
  month: string,
  scope: { prefix?: string; owner?: string },
): Promise<Cell[]> {
  const out: Cell[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const res = await ddb.send(
      new QueryCommand({
        TableName: env.TABLE_NAME,
        KeyConditionExpression: scope.prefix ? "PK = :pk AND begins_with(SK, :p)" : "PK = :pk",
        FilterExpression: scope.owner ? "ownerId = :o" : undefined,
        ExpressionAttributeValues: {
          ":pk": rollupKeys.cellPk(tenant, groupBy, month),
          ...(scope.prefix ? { ":p": scope.prefix } : {}),
          ...(scope.owner ? { ":o": scope.owner } : {}),
        },
        ExclusiveStartKey: start,
      }),
    );
    for (const i of res.Items ?? []) {
      out.push({
        groupValue: i.groupValue as string,
        ownerId: i.ownerId as string,
        deptPath: i.deptPath as string,
        revenue: Number(i.revenue ?? 0),
        orders: Number(i.orders ?? 0),
        customers: (i.customers as Set<string> | undefined) ?? new Set(),
        ...(i.customerName ? { customerName: i.customerName as string } : {}),
      });
    }
    start = res.LastEvaluatedKey;
  } while (start);
  return out;
}
