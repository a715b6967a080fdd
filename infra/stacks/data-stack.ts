// Stateful stack: the single table, the uploads/backups buckets (+ their access-log bucket), the Cognito user pool and
// the cursor-signing secret. Everything here is retained on stack deletion.
import { Aws, Duration, RemovalPolicy, Stack, Validations, type StackProps } from "aws-cdk-lib";
import {
  AccountRecovery,
  ClientAttributes,
  FeaturePlan,
  Mfa,
  StandardThreatProtectionMode,
  StringAttribute,
  UserPool,
  type IUserPool,
  type IUserPoolClient,
} from "aws-cdk-lib/aws-cognito";
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { BlockPublicAccess, Bucket, BucketEncryption, HttpMethods, ObjectOwnership } from "aws-cdk-lib/aws-s3";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { CfnSchedule } from "aws-cdk-lib/aws-scheduler";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { flattenCfnReference } from "cdk-nag/lib/utils/flatten-cfn-reference.js";
import type { Construct } from "constructs";
import { ROLES } from "../../shared/auth/claims.ts";
import { GSI_NAMES, TTL_ATTRIBUTE, keyAttrs } from "../../shared/db/table.ts";

/**
 * Physical names of the stateful resources of a stage. They are fixed (stateful resources are never replaced, and a
 * fixed name survives re-creating or importing the stack) and contain only pseudo parameters, so the stateless stack
 * can address table, buckets and secret by name without CloudFormation exports, and IAM statements render the same at
 * construction and at synthesis. Bucket names carry account and region to be globally unique (<= 63 characters
 * for stage names up to 10 characters).
 */
export function statefulNames(stage: string) {
  const base = `customer-master-${stage}`;
  return {
    table: base,
    uploadsBucket: `${base}-uploads-${Aws.ACCOUNT_ID}-${Aws.REGION}`,
    backupsBucket: `${base}-backups-${Aws.ACCOUNT_ID}-${Aws.REGION}`,
    accessLogsBucket: `${base}-logs-${Aws.ACCOUNT_ID}-${Aws.REGION}`,
    cursorSecret: `customer-master/${stage}/cursor-secret`,
  } as const;
}

export type StatefulNames = ReturnType<typeof statefulNames>;

/** What the stateless stack needs from this one. */
export interface StatefulRefs {
  /** Names of table, buckets and secret (see {@link statefulNames}). */
  readonly names: StatefulNames;
  /** The user pool whose tokens the API accepts. */
  readonly userPool: IUserPool;
  /** The app client frontends sign in with; its id is the JWT audience. */
  readonly userPoolClient: IUserPoolClient;
}

/** Props of {@link DataStack}. */
export interface DataStackProps extends StackProps {
  /** Stage name (dev, test, prod, or a developer's own); part of every physical name. */
  readonly stage: string;
  /** Origins allowed to PUT to presigned upload URLs. */
  readonly corsOrigins: readonly string[];
  /**
   * Also export the whole table natively (ExportTableToPointInTime, DynamoDB JSON) to the backups bucket's `native/`
   * prefix every night, next to the per-tenant logical backups. Off by default (it is billed per GB of the table).
   * @default false
   */
  readonly nativeExport?: boolean;
}

/** Table, buckets, user pool and secret of one stage. */
export class DataStack extends Stack implements StatefulRefs {
  readonly names: StatefulNames;
  readonly table: Table;
  readonly uploadsBucket: Bucket;
  readonly backupsBucket: Bucket;
  readonly accessLogsBucket: Bucket;
  readonly userPool: UserPool;
  readonly userPoolClient: IUserPoolClient;
  readonly cursorSecret: Secret;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    this.names = statefulNames(props.stage);

    this.table = this.createTable();

    this.accessLogsBucket = new Bucket(this, "AccessLogsBucket", {
      bucketName: this.names.accessLogsBucket,
      encryption: BucketEncryption.S3_MANAGED, // the only encryption S3 server access logging can deliver to
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.uploadsBucket = new Bucket(this, "UploadsBucket", {
      bucketName: this.names.uploadsBucket,
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: "uploads/",
      // Browsers PUT spreadsheets straight to S3 with presigned URLs; the URL carries the authorization.
      cors: [
        {
          allowedMethods: [HttpMethods.PUT, HttpMethods.GET, HttpMethods.HEAD],
          allowedOrigins: [...props.corsOrigins],
          allowedHeaders: ["*"],
          exposedHeaders: ["ETag"],
          maxAge: 3000,
        },
      ],
      lifecycleRules: [
        { abortIncompleteMultipartUploadAfter: Duration.days(7) },
        { noncurrentVersionExpiration: Duration.days(30) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.backupsBucket = new Bucket(this, "BackupsBucket", {
      bucketName: this.names.backupsBucket,
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: "backups/",
      lifecycleRules: [
        { abortIncompleteMultipartUploadAfter: Duration.days(7) },
        { noncurrentVersionExpiration: Duration.days(90) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    if (props.nativeExport) this.createNativeExport(props.stage);

    this.userPool = this.createUserPool(props.stage);
    this.userPoolClient = this.userPool.addClient("WebClient", {
      userPoolClientName: `customer-master-${props.stage}-web`,
      generateSecret: false, // browser SPA: a secret could not be kept
      authFlows: { userSrp: true },
      disableOAuth: true, // no hosted UI yet; frontends sign in with SRP
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
      readAttributes: new ClientAttributes()
        .withStandardAttributes({ email: true, emailVerified: true, fullname: true })
        .withCustomAttributes("tenant", "dept"),
      // Users must never be able to change their own tenant or department: only admins (AdminUpdateUserAttributes) can.
      writeAttributes: new ClientAttributes().withStandardAttributes({ email: true, fullname: true }),
    });

    this.cursorSecret = new Secret(this, "CursorSecret", {
      secretName: this.names.cursorSecret,
      description: "Signs pagination cursors so that a client cannot forge a key into another tenant",
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.cursorSecret).acknowledge({
      id: "AwsSolutions-SMG4",
      reason:
        "A rotation would invalidate every pagination cursor in flight, and functions read it at cold start only; " +
        "it is rotated by hand (update the secret, redeploy the API stack) when needed.",
    });
  }

  /**
   * An EventBridge Scheduler schedule calling DynamoDB's ExportTableToPointInTime directly (a universal target: no
   * function), with a role that may export this table and write under `native/` of the backups bucket only.
   */
  private createNativeExport(stage: string): void {
    const prefix = "native/";
    const role = new Role(this, "NativeExportRole", {
      assumedBy: new ServicePrincipal("scheduler.amazonaws.com"),
      description: `Nightly native export of the ${stage} table to the backups bucket`,
    });
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ["dynamodb:ExportTableToPointInTime"], resources: [this.table.tableArn] }),
    );
    const objects = this.backupsBucket.arnForObjects(`${prefix}*`);
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["s3:PutObject", "s3:AbortMultipartUpload", "s3:PutObjectAcl"],
        resources: [objects],
      }),
    );
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${flattenCfnReference(this.resolve(objects))}]`,
      reason: "An export writes objects whose names DynamoDB chooses; only under native/ of the backups bucket.",
    });
    new CfnSchedule(this, "NativeExportSchedule", {
      name: `customer-master-${stage}-native-export`,
      description: "Nightly native export of the table (PITR) to the backups bucket",
      scheduleExpression: "cron(30 19 * * ? *)",
      flexibleTimeWindow: { mode: "OFF" },
      target: {
        arn: "arn:aws:scheduler:::aws-sdk:dynamodb:exportTableToPointInTime",
        roleArn: role.roleArn,
        input: this.toJsonString({
          TableArn: this.table.tableArn,
          S3Bucket: this.backupsBucket.bucketName,
          S3Prefix: prefix,
          ExportFormat: "DYNAMODB_JSON",
        }),
      },
    });
  }

  private createTable(): Table {
    const attr = (name: string) => ({ name, type: AttributeType.STRING });
    const table = new Table(this, "Table", {
      tableName: this.names.table,
      partitionKey: attr(keyAttrs.pk),
      sortKey: attr(keyAttrs.sk),
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TTL_ATTRIBUTE,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const name of GSI_NAMES) {
      const keys = keyAttrs.gsi(name);
      table.addGlobalSecondaryIndex({
        indexName: name,
        partitionKey: attr(keys.pk),
        sortKey: attr(keys.sk),
        projectionType: ProjectionType.ALL,
      });
    }
    return table;
  }

  private createUserPool(stage: string): UserPool {
    const pool = new UserPool(this, "UserPool", {
      userPoolName: `customer-master-${stage}`,
      selfSignUpEnabled: false, // users are created by an admin, who sets tenant, dept and group
      signInAliases: { email: true },
      signInCaseSensitive: false,
      standardAttributes: { email: { required: true, mutable: true }, fullname: { required: false, mutable: true } },
      customAttributes: {
        tenant: new StringAttribute({ minLen: 1, maxLen: 128, mutable: false }),
        dept: new StringAttribute({ minLen: 1, maxLen: 128, mutable: true }),
      },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      // Back-office users edit every customer of a tenant: a second factor is required (TOTP, no SMS to run).
      mfa: Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      // Plus tier for threat protection (compromised credentials, adaptive authentication), enforced.
      featurePlan: FeaturePlan.PLUS,
      standardThreatProtectionMode: StandardThreatProtectionMode.FULL_FUNCTION,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    ROLES.forEach((role, precedence) => {
      pool.addGroup(`Group-${role}`, { groupName: role, precedence, description: `Role ${role}` });
    });
    return pool;
  }
}
