// Every DynamoDB key of interactions and of the satisfaction rollups they feed is built here.
import { createHash } from "node:crypto";
import { customerKeys } from "../customers/keys.ts";
import type { Dims } from "./schemas.ts";

/**
 * Interactions live in their customer's item collection (PK = T#<tenant>#CUST#<id>) under `INTERACTION#<id>`. The id
 * is a ULID whose time part is the interaction's `at`, so the sort key orders a customer's interactions by when they
 * happened (newest first with a backwards Query), and a read by id is a GetItem.
 */
export const interactionKeys = {
  pk: (tenant: string, customerId: string) => customerKeys.pk(tenant, customerId),
  sk: (id: string) => `INTERACTION#${id}`,
  prefix: () => "INTERACTION#",

  /**
   * Satisfaction rollup cells: one partition per tenant and month, one item per (department path, owner, region,
   * industry, level) of the customers interacted with that month. A `dept` scope reads `begins_with("<path>#")`, a
   * `dept_tree` scope `begins_with("<path>")`, exactly like the customers' department index.
   */
  rollupPk: (tenant: string, month: string) => `T#${tenant}#SATROLL#${month}`,
  rollupSk: (d: Dims) =>
    `${d.deptPath}#${d.ownerId}#${createHash("sha256")
      .update(JSON.stringify([d.region, d.industry, d.level]))
      .digest("base64url")
      .slice(0, 22)}`,
  rollupScopePrefix: (deptPath: string, tree: boolean) => (tree ? deptPath : `${deptPath}#`),
};
