// Stateful stack: the table mirrors tableDefinition(), everything is retained, buckets are private and TLS-only,
// the user pool carries tenant/dept attributes and the role groups.
import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { ROLES } from "../../shared/auth/claims.ts";
import { TTL_ATTRIBUTE, tableDefinition } from "../../shared/db/table.ts";
import { statefulNames } from "../../infra/stacks/data-stack.ts";
import { onlyResource, refId, resourcesOf, synthApp } from "./support.ts";

const { data, stage } = synthApp();
const names = statefulNames(stage);

describe("single table", () => {
  const [, table] = onlyResource(data, "AWS::DynamoDB::Table");
  const def = tableDefinition(names.table);
  const byName = (a: { AttributeName: string }, b: { AttributeName: string }) =>
    a.AttributeName.localeCompare(b.AttributeName);

  it("has exactly the keys, attributes and GSIs of tableDefinition()", () => {
    expect(table.Properties.TableName).toBe(def.TableName);
    expect(table.Properties.BillingMode).toBe(def.BillingMode);
    expect(table.Properties.KeySchema).toEqual(def.KeySchema);
    expect([...table.Properties.AttributeDefinitions].sort(byName)).toEqual([...def.AttributeDefinitions].sort(byName));
    expect(table.Properties.GlobalSecondaryIndexes).toEqual(def.GlobalSecondaryIndexes);
  });

  it("expires items by the TTL attribute", () => {
    expect(table.Properties.TimeToLiveSpecification).toEqual({ AttributeName: TTL_ATTRIBUTE, Enabled: true });
  });

  it("has point-in-time recovery, deletion protection, encryption and is retained", () => {
    expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table.Properties.DeletionProtectionEnabled).toBe(true);
    expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true });
    expect(table.DeletionPolicy).toBe("Retain");
    expect(table.UpdateReplacePolicy).toBe("Retain");
  });
});

describe("buckets", () => {
  const buckets = resourcesOf(data, "AWS::S3::Bucket");
  const policies = resourcesOf(data, "AWS::S3::BucketPolicy");
  const named = (name: string) => {
    const found = buckets.find(([, b]) => JSON.stringify(b.Properties.BucketName).includes(name));
    if (!found) throw new Error(`no bucket named ${name}`);
    return found;
  };

  it("are uploads, backups and their access-log bucket", () => {
    expect(buckets).toHaveLength(3);
    for (const n of ["uploads", "backups", "logs"]) named(`customer-master-${stage}-${n}-`);
  });

  it.each(buckets.map(([id, b]) => [id, b] as const))("%s is encrypted, private, TLS-only and retained", (id, b) => {
    expect(b.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault).toEqual({
      SSEAlgorithm: "AES256",
    });
    expect(b.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(b.DeletionPolicy).toBe("Retain");
    const policy = policies.find(([, p]) => refId(p.Properties.Bucket) === id);
    expect(policy, `bucket policy of ${id}`).toBeDefined();
    expect(policy![1].Properties.PolicyDocument.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Effect: "Deny",
          Action: "s3:*",
          Principal: { AWS: "*" },
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        }),
      ]),
    );
  });

  it("uploads and backups are versioned and log to the access-log bucket", () => {
    const [logsId] = named("-logs-");
    for (const n of ["-uploads-", "-backups-"]) {
      const [, b] = named(n);
      expect(b.Properties.VersioningConfiguration).toEqual({ Status: "Enabled" });
      expect(refId(b.Properties.LoggingConfiguration.DestinationBucketName)).toBe(logsId);
    }
  });

  it("uploads accept browser PUTs to presigned URLs (CORS)", () => {
    const [, uploads] = named("-uploads-");
    expect(uploads.Properties.CorsConfiguration.CorsRules[0].AllowedMethods).toContain("PUT");
  });
});

describe("user pool", () => {
  it("has tenant (immutable) and dept custom attributes, a strong password policy and required MFA", () => {
    data.hasResourceProperties("AWS::Cognito::UserPool", {
      Schema: Match.arrayWith([
        Match.objectLike({ Name: "tenant", AttributeDataType: "String", Mutable: false }),
        Match.objectLike({ Name: "dept", AttributeDataType: "String", Mutable: true }),
      ]),
      Policies: {
        PasswordPolicy: Match.objectLike({
          MinimumLength: 12,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        }),
      },
      MfaConfiguration: "ON",
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      UserPoolTier: "PLUS",
      UserPoolAddOns: { AdvancedSecurityMode: "ENFORCED" },
      DeletionProtection: "ACTIVE",
    });
    const [, pool] = onlyResource(data, "AWS::Cognito::UserPool");
    expect(pool.DeletionPolicy).toBe("Retain");
  });

  it("has one group per role", () => {
    const groups = resourcesOf(data, "AWS::Cognito::UserPoolGroup").map(([, g]) => g.Properties.GroupName);
    expect(groups.sort()).toEqual([...ROLES].sort());
  });

  it("has a public app client that cannot write its own tenant or department", () => {
    data.hasResourceProperties("AWS::Cognito::UserPoolClient", {
      GenerateSecret: false,
      ReadAttributes: Match.arrayWith(["custom:dept", "custom:tenant"]),
    });
    const [, client] = onlyResource(data, "AWS::Cognito::UserPoolClient");
    expect(client.Properties.WriteAttributes).not.toContain("custom:tenant");
    expect(client.Properties.WriteAttributes).not.toContain("custom:dept");
  });
});

describe("cursor secret", () => {
  it("is generated under its fixed name and retained", () => {
    data.hasResource("AWS::SecretsManager::Secret", {
      Properties: Match.objectLike({ Name: names.cursorSecret, GenerateSecretString: Match.anyValue() }),
      DeletionPolicy: "Retain",
    });
  });
});
