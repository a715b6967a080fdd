// The tenant registry: which tenants exist, so that nightly sweeps (classification refresh and dormancy, backups) can
// start one job per tenant. A tenant registers on its first audited write (shared/domain/audit/chain.ts: every write
// of tenant data is audited); the registry is spread over a few partitions so registering never funnels through one
// key.
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { env } from "../../config/env.ts";
import { ddb } from "../../db/client.ts";
import { shardOf } from "../../db/ids.ts";

const REGISTRY_SHARDS = 8;

export const tenantKeys = {
  pk: (shard: number) => `SYS#TENANTS#${shard}`,
  sk: (tenant: string) => tenant,
};

/** Tenants this process already registered (a registration is written once per tenant and process at most). */
const known = new Set<string>();

/** Records that a tenant exists (idempotent; a conditional put that does nothing when it is already there). */
export async function registerTenant(tenant: string): Promise<void> {
  if (known.has(tenant)) return;
  try {
    await ddb.send(
      new PutCommand({
        TableName: env.TABLE_NAME,
        Item: {
          PK: tenantKeys.pk(shardOf(tenant, REGISTRY_SHARDS)),
          SK: tenantKeys.sk(tenant),
          entity: "tenant",
          tenant,
          registeredAt: new Date().toISOString(),
        },
        ConditionExpression: "attribute_not_exists(PK)",
      }),
    );
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
  }
  known.add(tenant);
}

/** Every registered tenant (one Query per registry partition). */
export async function listTenants(): Promise<string[]> {
  const pages = await Promise.all(
    Array.from({ length: REGISTRY_SHARDS }, async (_, shard) => {
      const out: string[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const res = await ddb.send(
          new QueryCommand({
            TableName: env.TABLE_NAME,
            KeyConditionExpression: "PK = :pk",
            ExpressionAttributeValues: { ":pk": tenantKeys.pk(shard) },
            ExclusiveStartKey: start,
          }),
        );
        out.push(...(res.Items ?? []).map((i) => i.tenant as string));
        start = res.LastEvaluatedKey;
      } while (start);
      return out;
    }),
  );
  return pages.flat().sort();
}
