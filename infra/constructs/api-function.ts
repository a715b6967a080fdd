// The one Lambda construct: runtime, architecture, memory, timeout, log group, tracing, bundling, env and least-privilege grants.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ArnFormat, Duration, Lazy, Stack, Validations } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { Effect, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Architecture, Code, Function as LambdaFunction, Runtime, Tracing } from "aws-cdk-lib/aws-lambda";
import { Charset, NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { flattenCfnReference } from "cdk-nag/lib/utils/flatten-cfn-reference.js";
import { Construct } from "constructs";

/** Repository root: manifest entries are relative to it, and it is the esbuild project root. */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** What a function may do to the single table (from the manifest). */
export type TableAccess = "none" | "read" | "readwrite";

/** What a function may do to the objects of a bucket. */
export type BucketAccess = "read" | "write" | "readwrite";

/** Access to one bucket, optionally limited to a key prefix. */
export interface BucketGrant {
  /** The bucket. */
  readonly bucket: IBucket;
  /** read: GetObject (+ ListBucket under the prefix); write: PutObject; readwrite: both. */
  readonly access: BucketAccess;
  /** Key prefix such as `imports/`; the whole bucket when omitted. */
  readonly prefix?: string;
}

/** Props of {@link ApiFunction}. Everything but `entry`, `table`, `tableAccess` and `stage` has a default. */
export interface ApiFunctionProps {
  /** Module exporting `handler`, relative to the repository root (as written in functions/manifest.ts). */
  readonly entry: string;
  /** Shown in the Lambda console. */
  readonly description?: string;
  /**
   * The single table; its name is passed as TABLE_NAME whatever the access. Pass a handle local to the function's
   * stack (imported by name) so that the index-wildcard acknowledgement matches what cdk-nag sees after synthesis.
   */
  readonly table: ITable;
  /** `read` grants read actions only, `readwrite` read and write data actions, `none` nothing. */
  readonly tableAccess: TableAccess;
  /** Deployment stage, passed as STAGE. */
  readonly stage: string;
  /** LOG_LEVEL of the function. @default "INFO" */
  readonly logLevel?: string;
  /** @default Duration.seconds(10) (API functions); workers pass the manifest's timeout. */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** Retention of the function's log group. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Extra environment (UPLOADS_BUCKET, LIST_SHARDS, ...), merged over the defaults. */
  readonly environment?: Readonly<Record<string, string>>;
  /** Bucket access beyond none; buckets should be handles local to the function's stack (see `table`). */
  readonly buckets?: readonly BucketGrant[];
  /** Queues the function sends to, by logical name: each gets a sendMessage grant and an entry in QUEUE_URLS. */
  readonly sendsTo?: Readonly<Record<string, IQueue>>;
}

const ESM_REQUIRE_BANNER = "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/**
 * A Node.js 22 / arm64 Lambda function bundled by local esbuild, with an explicit log group (one month),
 * active tracing, source maps and only the permissions its manifest entry asks for.
 */
export class ApiFunction extends Construct {
  /** The Lambda function. */
  readonly fn: LambdaFunction;
  /** Its execution role; every grant lands here and nowhere wider. */
  readonly role: Role;
  /** Its log group, created explicitly so that retention and removal are ours. */
  readonly logGroup: LogGroup;
  private readonly queueUrls: Record<string, string> = {};

  constructor(scope: Construct, id: string, props: ApiFunctionProps) {
    super(scope, id);

    this.logGroup = new LogGroup(this, "Logs", { retention: props.logRetention ?? RetentionDays.ONE_MONTH });

    // Own role instead of the default one, which would carry the AWSLambdaBasicExecutionRole managed policy
    // (create/write any log group); this one may only write to its own log group.
    this.role = new Role(this, "Role", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `Execution role of ${props.entry} (${props.stage})`,
    });
    this.logGroup.grantWrite(this.role);

    const environment: Record<string, string> = {
      TABLE_NAME: props.table.tableName,
      STAGE: props.stage,
      LOG_LEVEL: props.logLevel ?? "INFO",
      NODE_OPTIONS: "--enable-source-maps",
      ...props.environment,
    };
    const common = {
      description: props.description ?? props.entry,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: Tracing.ACTIVE,
      logGroup: this.logGroup,
      role: this.role,
      environment,
    };

    const entryPath = `${REPO_ROOT}${props.entry}`;
    if (existsSync(entryPath)) {
      this.fn = new NodejsFunction(this, "Fn", {
        ...common,
        entry: entryPath,
        handler: "handler",
        projectRoot: REPO_ROOT,
        depsLockFilePath: `${REPO_ROOT}package-lock.json`,
        bundling: {
          minify: true,
          // Chinese text (header names, messages, scheme names) as UTF-8 bytes, not six-byte \u escapes.
          charset: Charset.UTF8,
          sourceMap: true,
          sourcesContent: false,
          format: OutputFormat.ESM,
          target: "node22",
          mainFields: ["module", "main"],
          banner: ESM_REQUIRE_BANNER,
          externalModules: ["@aws-sdk/*"],
        },
      });
    } else if (!Stack.of(this).bundlingRequired) {
      // Only when bundling is skipped (infra tests, `cdk synth --exclusively` of another stack): a handler listed
      // in the manifest but not written yet still yields a representative function. It cannot reach a deployment:
      // deploying this stack bundles it, and bundling a missing entry fails below.
      this.fn = new LambdaFunction(this, "Fn", {
        ...common,
        handler: "index.handler",
        code: Code.fromInline(`exports.handler = async () => { throw new Error("${props.entry} was not bundled"); };`),
      });
    } else {
      throw new Error(`${props.entry} is listed in functions/manifest.ts but does not exist`);
    }

    if (props.tableAccess !== "none") {
      if (props.tableAccess === "read") props.table.grantReadData(this.fn);
      else props.table.grantReadWriteData(this.fn);
      this.acknowledgeWildcard(
        `${props.table.tableArn}/index/*`,
        "Queries go through the generic GSI1..GSI3 of the single table; the grant covers the table's own indexes " +
          "(table-arn/index/*) and no other table.",
      );
    }
    for (const grant of props.buckets ?? []) this.grantBucket(grant);
    for (const [name, queue] of Object.entries(props.sendsTo ?? {})) this.allowSendTo(name, queue);

    Validations.of(this).acknowledge(
      {
        id: "AwsSolutions-L1",
        reason:
          "nodejs22.x is pinned on purpose (ARCHITECTURE.md): the local runtime, esbuild target and tests run Node 22; " +
          "moving to a newer runtime is a deliberate, tested change, not a drift.",
      },
      {
        id: "AwsSolutions-IAM5[Resource::*]",
        reason:
          "Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, which X-Ray only supports on " +
          "Resource '*'; no other statement of this role uses '*' (asserted by test/infra).",
      },
    );
  }

  /** Grants object access on a bucket (prefix-scoped when given); never bucket-wide admin actions. */
  grantBucket(grant: BucketGrant): void {
    const prefix = grant.prefix ?? "";
    const objects = grant.bucket.arnForObjects(`${prefix}*`);
    const read = grant.access === "read" || grant.access === "readwrite";
    const write = grant.access === "write" || grant.access === "readwrite";
    const actions = [...(read ? ["s3:GetObject"] : []), ...(write ? ["s3:PutObject", "s3:AbortMultipartUpload"] : [])];
    this.role.addToPrincipalPolicy(new PolicyStatement({ effect: Effect.ALLOW, actions, resources: [objects] }));
    this.acknowledgeWildcard(
      objects,
      `Object keys are only known at run time; access is limited to ${prefix ? `the ${prefix} prefix of ` : ""}one ` +
        `bucket and to ${actions.join(", ")}.`,
    );
    if (read) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ["s3:ListBucket"],
          resources: [grant.bucket.bucketArn],
          ...(prefix ? { conditions: { StringLike: { "s3:prefix": [`${prefix}*`] } } } : {}),
        }),
      );
    }
  }

  /** Grants s3:DeleteObject under one prefix of a bucket (backup retention deletes the backups it no longer keeps). */
  grantObjectDelete(bucket: IBucket, prefix: string): void {
    const objects = bucket.arnForObjects(`${prefix}*`);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ["s3:DeleteObject"], resources: [objects] }),
    );
    this.acknowledgeWildcard(
      objects,
      `Object keys are only known at run time; deletion is limited to the ${prefix} prefix of one bucket.`,
    );
  }

  /**
   * Acknowledges cdk-nag's IAM5 finding for one wildcard resource of this function's policy, under the exact id the
   * rule reports (`AwsSolutions-IAM5[Resource::<flattened arn>]`); any other wildcard still fails the check.
   */
  private acknowledgeWildcard(resourceArn: string, reason: string): void {
    const flat = flattenCfnReference(Stack.of(this).resolve(resourceArn));
    Validations.of(this).acknowledge({ id: `AwsSolutions-IAM5[Resource::${flat}]`, reason });
  }

  /**
   * Lets the function send e-mail through SES from `sender` (EMAIL_DELIVERY=ses, EMAIL_SENDER): `ses:SendEmail` on
   * the given SES identities only (their ARNs), nothing else.
   */
  allowSendEmail(sender: string, identities: readonly string[]): void {
    const stack = Stack.of(this);
    const resources = identities.map((identity) =>
      stack.formatArn({
        service: "ses",
        resource: "identity",
        resourceName: identity,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ["ses:SendEmail"], resources }),
    );
    this.fn.addEnvironment("EMAIL_DELIVERY", "ses");
    this.fn.addEnvironment("EMAIL_SENDER", sender);
  }

  /** Lets the function send to a queue and adds it to QUEUE_URLS ({logicalName: url}, a JSON object). */
  allowSendTo(name: string, queue: IQueue): void {
    queue.grantSendMessages(this.fn);
    const first = Object.keys(this.queueUrls).length === 0;
    this.queueUrls[name] = queue.queueUrl;
    if (first) {
      const stack = Stack.of(this);
      this.fn.addEnvironment("QUEUE_URLS", Lazy.string({ produce: () => stack.toJsonString(this.queueUrls) }));
    }
  }
}
