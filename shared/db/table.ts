// The single table's physical shape: key schema and generic GSIs, shared by CDK and the local runtime.

/** Generic global secondary indexes; every entity maps its access patterns onto these. */
export const GSI_NAMES = ["GSI1", "GSI2", "GSI3", "GSI4"] as const;
export type GsiName = (typeof GSI_NAMES)[number];

/** Attribute names of the primary key and of each GSI's partition and sort key. */
export const keyAttrs = {
  pk: "PK",
  sk: "SK",
  gsi: (name: GsiName) => ({ pk: `${name}PK`, sk: `${name}SK` }),
} as const;

/** The table definition in the shape of CreateTable, used by the local runtime and mirrored by the CDK stack. */
export function tableDefinition(tableName: string) {
  const gsiAttrs = GSI_NAMES.flatMap((g) => [
    { AttributeName: keyAttrs.gsi(g).pk, AttributeType: "S" as const },
    { AttributeName: keyAttrs.gsi(g).sk, AttributeType: "S" as const },
  ]);
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST" as const,
    AttributeDefinitions: [
      { AttributeName: keyAttrs.pk, AttributeType: "S" as const },
      { AttributeName: keyAttrs.sk, AttributeType: "S" as const },
      ...gsiAttrs,
    ],
    KeySchema: [
      { AttributeName: keyAttrs.pk, KeyType: "HASH" as const },
      { AttributeName: keyAttrs.sk, KeyType: "RANGE" as const },
    ],
    GlobalSecondaryIndexes: GSI_NAMES.map((g) => ({
      IndexName: g,
      KeySchema: [
        { AttributeName: keyAttrs.gsi(g).pk, KeyType: "HASH" as const },
        { AttributeName: keyAttrs.gsi(g).sk, KeyType: "RANGE" as const },
      ],
      Projection: { ProjectionType: "ALL" as const },
    })),
  };
}

/** Attribute that holds the expiry (epoch seconds) of items DynamoDB TTL deletes, e.g. idempotency records. */
export const TTL_ATTRIBUTE = "expiresAt";
