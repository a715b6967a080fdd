// Stateless stack, generated from functions/manifest.ts: HTTP API + JWT authorizer + one function per route group,
// one queue/DLQ/worker per queue, EventBridge schedules into queues and S3 ObjectCreated notifications into queues.
import { CfnOutput, Duration, SecretValue, Stack, Validations, type StackProps } from "aws-cdk-lib";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import {
  CfnStage,
  CorsHttpMethod,
  HttpApi,
  HttpMethod as ApigwHttpMethod,
  HttpNoneAuthorizer,
  HttpStage,
  LogGroupLogDestination,
  type HttpRoute,
  type ThrottleSettings,
} from "aws-cdk-lib/aws-apigatewayv2";
import { HttpJwtAuthorizer } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import { Table } from "aws-cdk-lib/aws-dynamodb";
import { Effect, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { EventField, Rule, RuleTargetInput, Schedule } from "aws-cdk-lib/aws-events";
import { SqsQueue } from "aws-cdk-lib/aws-events-targets";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Bucket, EventType, type IBucket } from "aws-cdk-lib/aws-s3";
import { restoreDrillAlarm } from "../constructs/drill-alarm.ts";
import type { Alarm } from "aws-cdk-lib/aws-cloudwatch";
import { SqsDestination } from "aws-cdk-lib/aws-s3-notifications";
import type { Construct } from "constructs";
import { GSI_NAMES } from "../../shared/db/table.ts";
import {
  type ThrottlingDef,
  rateKeys,
  routeLimitsOf,
  tenantLimitEnv,
  unknownRouteKeys,
} from "../../shared/config/throttle.ts";
import * as manifestModule from "../../functions/manifest.ts";
import type {
  HttpFunctionDef,
  HttpMethod,
  QueueDef,
  S3NotificationDef,
  ScheduleDef,
} from "../../functions/manifest.ts";
import { ApiFunction, type ApiFunctionProps, type BucketAccess } from "../constructs/api-function.ts";
import { QueueWorker } from "../constructs/queue-worker.ts";
import type { StatefulRefs } from "./data-stack.ts";

/** The deployable units the stack is generated from (functions/manifest.ts unless a test passes another). */
export interface Manifest {
  readonly httpFunctions: Readonly<Record<string, HttpFunctionDef>>;
  readonly queues: Readonly<Record<string, QueueDef>>;
  readonly schedules: Readonly<Record<string, ScheduleDef>>;
  readonly s3Notifications: readonly S3NotificationDef[];
}

/** The repository's manifest. */
export const MANIFEST: Manifest = manifestModule;

/** A route as the throttling hook sees it. */
export interface RouteInfo {
  /** Manifest key of the function serving it. */
  readonly functionName: string;
  /** `${method} ${path}`, the API Gateway route key. */
  readonly routeKey: string;
  readonly method: HttpMethod;
  readonly path: string;
  readonly auth: boolean;
}

/**
 * Per-route throttling: returns a route's own limits, or undefined to keep the stage default.
 *
 * Per-tenant throttling cannot be expressed in an HTTP API stage (limits there are per route, for all callers
 * together, and cannot key on a JWT claim); the functions enforce it (shared/http/throttle.ts, TENANT_* env), and the
 * per-route ceilings set here stay above it.
 */
export type RouteThrottleHook = (route: RouteInfo) => ThrottleSettings | undefined;

/** The route limits of a throttling config (functions/manifest.ts): listed routes, then public routes. */
export const routeThrottleFrom =
  (config: ThrottlingDef): RouteThrottleHook =>
  (route) =>
    routeLimitsOf(config, route);

/** The route limits of functions/manifest.ts's `throttling`. */
export const defaultRouteThrottle: RouteThrottleHook = routeThrottleFrom(manifestModule.throttling);

/** Props of {@link ApiStack}. */
export interface ApiStackProps extends StackProps {
  readonly stage: string;
  /** Names and user pool of the stage's stateful stack. */
  readonly data: StatefulRefs;
  /** @default MANIFEST */
  readonly manifest?: Manifest;
  /** LOG_LEVEL of every function. @default "INFO" */
  readonly logLevel?: string;
  /** LIST_SHARDS (fixed per deployment: changing it needs a re-index). @default 8 */
  readonly listShards?: number;
  /** Origins allowed by the API's CORS preflight. @default ["*"] */
  readonly corsOrigins?: readonly string[];
  /**
   * Route and tenant limits. Route keys it names must exist in the manifest.
   * @default the `throttling` of functions/manifest.ts
   */
  readonly throttling?: ThrottlingDef;
  /** Default limits of every route (each route has its own bucket). @default throttling.default */
  readonly throttle?: ThrottleSettings;
  /** Per-route limits. @default routeThrottleFrom(throttling) */
  readonly routeThrottle?: RouteThrottleHook;
  /**
   * The address reminder e-mails are sent from, a verified SES identity (or on a verified domain). When set, the
   * reminders worker sends through SES (`ses:SendEmail` on that identity); when not, it logs e-mails.
   * @default none
   */
  readonly emailSender?: string;
  /** The SES identity the sender belongs to. @default both the sender address and its domain */
  readonly emailIdentity?: string;
}

const EMAIL_PATTERN = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

type BucketKey = "uploads" | "backups";

/**
 * Bucket access a manifest entry may declare as `buckets: { uploads?: "read" | "write" | "readwrite", backups?: ... }`.
 * Not part of the manifest's types yet; read structurally so that declaring it there needs no infra change.
 */
function declaredBuckets(def: object): Partial<Record<BucketKey, BucketAccess>> {
  const value = (def as { buckets?: unknown }).buckets;
  return value && typeof value === "object" ? (value as Partial<Record<BucketKey, BucketAccess>>) : {};
}

const pascal = (s: string) => s.replace(/(^|[^A-Za-z0-9]+)([A-Za-z0-9])/g, (_m, _sep, c: string) => c.toUpperCase());

/** API, functions, queues, schedules and notifications of one stage. */
export class ApiStack extends Stack {
  /** In alarm when a restore drill failed (the jobs worker emits the metric; see shared/domain/backups/restore.ts). */
  readonly drillAlarm: Alarm;
  readonly api: HttpApi;
  readonly defaultStage: HttpStage;
  /** HTTP functions by manifest key. */
  readonly httpFunctions: Readonly<Record<string, ApiFunction>>;
  /** Queue workers by logical queue name. */
  readonly queueWorkers: Readonly<Record<string, QueueWorker>>;
  /** Routes by route key (`GET /v1/health`). */
  readonly routes: ReadonlyMap<string, HttpRoute>;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const manifest = props.manifest ?? MANIFEST;
    const throttling = props.throttling ?? manifestModule.throttling;
    const { names, userPool, userPoolClient } = props.data;

    // Stateful resources are addressed by their fixed names (see statefulNames): no exports between the stacks.
    const table = Table.fromTableAttributes(this, "Table", {
      tableName: names.table,
      globalIndexes: [...GSI_NAMES],
    });
    const buckets: Record<BucketKey, IBucket> = {
      uploads: Bucket.fromBucketAttributes(this, "UploadsBucket", { bucketName: names.uploadsBucket }),
      backups: Bucket.fromBucketAttributes(this, "BackupsBucket", { bucketName: names.backupsBucket }),
    };
    const shared: Omit<ApiFunctionProps, "entry" | "tableAccess"> = {
      table,
      stage: props.stage,
      logLevel: props.logLevel ?? "INFO",
      environment: {
        UPLOADS_BUCKET: names.uploadsBucket,
        BACKUPS_BUCKET: names.backupsBucket,
        LIST_SHARDS: String(props.listShards ?? 8),
      },
    };
    const grantsOf = (def: object) =>
      Object.entries(declaredBuckets(def)).map(([key, access]) => ({ bucket: buckets[key as BucketKey], access }));

    // Queues first: HTTP functions and workers may send to any of them.
    const queueWorkers: Record<string, QueueWorker> = {};
    for (const [name, def] of Object.entries(manifest.queues)) {
      queueWorkers[name] = new QueueWorker(this, `${pascal(name)}Queue`, {
        name,
        def,
        function: { ...shared, buckets: grantsOf(def) },
      });
    }
    const queueNamed = (name: string, user: string) => {
      const worker = queueWorkers[name];
      if (!worker) throw new Error(`${user} refers to queue "${name}", which functions/manifest.ts does not define`);
      return worker;
    };
    for (const [name, def] of Object.entries(manifest.queues)) {
      for (const target of def.sendsTo ?? []) {
        queueWorkers[name]!.worker.allowSendTo(target, queueNamed(target, `queue ${name}`).queue);
      }
    }
    this.queueWorkers = queueWorkers;
    this.drillAlarm = restoreDrillAlarm(this, props.stage);
    // Reminder e-mail: through SES from the configured sender, or logged when none is configured.
    if (props.emailSender !== undefined) {
      if (!EMAIL_PATTERN.test(props.emailSender)) {
        throw new Error(`emailSender "${props.emailSender}" is not an e-mail address`);
      }
      const identities = props.emailIdentity
        ? [props.emailIdentity]
        : [props.emailSender, props.emailSender.split("@")[1]!];
      queueNamed("reminders", "emailSender").worker.allowSendEmail(props.emailSender, identities);
    }
    // Backup retention (the jobs worker) deletes old backups' objects.
    queueWorkers.jobs?.worker.grantObjectDelete(buckets.backups, "tenants/");

    // HTTP API: the JWT authorizer is the default, public routes opt out explicitly.
    const issuer = `https://cognito-idp.${this.region}.amazonaws.com/${userPool.userPoolId}`;
    const jwt = new HttpJwtAuthorizer("CognitoJwt", issuer, {
      authorizerName: "cognito-jwt",
      jwtAudience: [userPoolClient.userPoolClientId],
    });
    const allRoutes = Object.values(manifest.httpFunctions).flatMap((f) => f.routes);
    const unknownThrottled = unknownRouteKeys(
      throttling,
      allRoutes.map((r) => `${r.method} ${r.path}`),
    );
    if (unknownThrottled.length > 0) {
      throw new Error(`throttling names routes the manifest does not have: ${unknownThrottled.join(", ")}`);
    }
    this.api = new HttpApi(this, "HttpApi", {
      apiName: `customer-master-${props.stage}`,
      description: `Customer master API (${props.stage})`,
      createDefaultStage: false,
      defaultAuthorizer: jwt,
      corsPreflight: {
        allowOrigins: [...(props.corsOrigins ?? ["*"])],
        allowMethods: [...new Set(allRoutes.map((r) => CorsHttpMethod[r.method])), CorsHttpMethod.OPTIONS],
        allowHeaders: ["authorization", "content-type", "if-match", "idempotency-key", "x-request-id"],
        exposeHeaders: ["etag", "location", "x-request-id"],
        maxAge: Duration.hours(1),
      },
    });

    const httpFunctions: Record<string, ApiFunction> = {};
    const routes = new Map<string, HttpRoute>();
    const routeSettings: Record<string, { ThrottlingRateLimit?: number; ThrottlingBurstLimit?: number }> = {};
    const throttleHook = props.routeThrottle ?? routeThrottleFrom(throttling);
    const none = new HttpNoneAuthorizer();
    for (const [name, def] of Object.entries(manifest.httpFunctions)) {
      // The tenant limit runs in functions with authenticated routes (public ones have no tenant).
      const tenantLimited = throttling.tenant !== undefined && def.routes.some((r) => r.auth);
      const fn = new ApiFunction(this, `${pascal(name)}Function`, {
        ...shared,
        environment: {
          ...shared.environment,
          CURSOR_SECRET: this.cursorSecret(names.cursorSecret),
          ...(tenantLimited ? tenantLimitEnv(throttling.tenant) : {}),
        },
        entry: def.entry,
        description: `${def.entry} (${def.routes.length} routes)`,
        tableAccess: def.table,
        buckets: grantsOf(def),
      });
      for (const target of def.sendsTo ?? []) fn.allowSendTo(target, queueNamed(target, `function ${name}`).queue);
      if (tenantLimited && def.table !== "readwrite") this.allowRateCounter(fn, table.tableArn);
      httpFunctions[name] = fn;

      // One invoke permission per function (for this API) instead of one per route: keeps the function policy small.
      const integration = new HttpLambdaIntegration(`${pascal(name)}Integration`, fn.fn, {
        scopePermissionToRoute: false,
      });
      for (const route of def.routes) {
        const routeKey = `${route.method} ${route.path}`;
        if (routes.has(routeKey)) throw new Error(`route ${routeKey} is listed twice in functions/manifest.ts`);
        const [created] = this.api.addRoutes({
          path: route.path,
          methods: [ApigwHttpMethod[route.method]],
          integration,
          authorizer: route.auth ? jwt : none,
        });
        if (!created) throw new Error(`no route created for ${routeKey}`);
        routes.set(routeKey, created);
        if (!route.auth) {
          Validations.of(created).acknowledge({
            id: "AwsSolutions-APIG4",
            reason: `${routeKey} is public by design (auth: false in functions/manifest.ts): health, OpenAPI document and docs page carry no tenant data and are throttled per route.`,
          });
        }
        const limits = throttleHook({ functionName: name, routeKey, ...route });
        if (limits) {
          routeSettings[routeKey] = {
            ...(limits.rateLimit !== undefined ? { ThrottlingRateLimit: limits.rateLimit } : {}),
            ...(limits.burstLimit !== undefined ? { ThrottlingBurstLimit: limits.burstLimit } : {}),
          };
        }
      }
    }
    this.httpFunctions = httpFunctions;
    this.routes = routes;

    const accessLogs = new LogGroup(this, "ApiAccessLogs", { retention: RetentionDays.ONE_MONTH });
    this.defaultStage = new HttpStage(this, "DefaultStage", {
      httpApi: this.api,
      stageName: "$default",
      autoDeploy: true,
      throttle: props.throttle ?? throttling.default,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: "$context.requestId",
            requestTime: "$context.requestTimeEpoch",
            ip: "$context.identity.sourceIp",
            routeKey: "$context.routeKey",
            status: "$context.status",
            protocol: "$context.protocol",
            responseLength: "$context.responseLength",
            latency: "$context.responseLatency",
            integrationLatency: "$context.integrationLatency",
            integrationError: "$context.integrationErrorMessage",
            authorizerError: "$context.authorizer.error",
            userAgent: "$context.identity.userAgent",
          }),
        ),
      },
    });
    if (Object.keys(routeSettings).length > 0) {
      const cfnStage = this.defaultStage.node.defaultChild as CfnStage;
      cfnStage.routeSettings = routeSettings;
      // Route settings name routes by key: the stage must be created after them.
      for (const key of Object.keys(routeSettings)) cfnStage.node.addDependency(routes.get(key)!);
    }

    // Schedules: each tick sends the manifest's message, plus the tick time, to its queue.
    for (const [name, def] of Object.entries(manifest.schedules)) {
      const target = queueNamed(def.queue, `schedule ${name}`);
      new Rule(this, `${pascal(name)}Schedule`, {
        description: `${name}: ${def.expression} -> queue ${def.queue}`,
        schedule: Schedule.expression(def.expression),
        targets: [
          new SqsQueue(target.queue, {
            message: RuleTargetInput.fromObject({ ...def.message, scheduledAt: EventField.time }),
          }),
        ],
      });
    }

    // S3 ObjectCreated under a prefix -> queue; the queue's worker may read that prefix.
    for (const n of manifest.s3Notifications) {
      const target = queueNamed(n.queue, `s3 notification ${n.bucket}/${n.prefix}`);
      buckets[n.bucket].addEventNotification(EventType.OBJECT_CREATED, new SqsDestination(target.queue), {
        prefix: n.prefix,
      });
      target.worker.grantBucket({ bucket: buckets[n.bucket], access: "read", prefix: n.prefix });
    }
    if (manifest.s3Notifications.length > 0) this.acknowledgeNotificationsHandler();

    new CfnOutput(this, "ApiUrl", { value: this.defaultStage.url, description: "Base URL of the HTTP API" });
    new CfnOutput(this, "UserPoolId", { value: userPool.userPoolId });
    new CfnOutput(this, "UserPoolClientId", { value: userPoolClient.userPoolClientId });
    new CfnOutput(this, "JwtIssuer", { value: issuer });
    new CfnOutput(this, "TableName", { value: names.table });
    new CfnOutput(this, "UploadsBucketName", { value: names.uploadsBucket });
    new CfnOutput(this, "BackupsBucketName", { value: names.backupsBucket });
  }

  /**
   * The tenant limiter's one write for a function that may otherwise only read (or not touch) the table: UpdateItem
   * on the rate counters alone (partition keys `T#<tenant>#RATE#<window>`), nothing else.
   */
  private allowRateCounter(fn: ApiFunction, tableArn: string): void {
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ["dynamodb:UpdateItem"],
        resources: [tableArn],
        conditions: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [rateKeys.pkPattern()] } },
      }),
    );
  }

  /** CURSOR_SECRET as a CloudFormation dynamic reference: resolved at deploy time, never written into the template. */
  private cursorSecret(secretName: string): string {
    return SecretValue.secretsManager(secretName).unsafeUnwrap();
  }

  /**
   * The CDK's singleton handler that writes notification configurations onto the (imported) uploads bucket comes with
   * the AWSLambdaBasicExecutionRole managed policy; it is aws-cdk-lib's deploy-time code, not ours.
   */
  private acknowledgeNotificationsHandler(): void {
    const handler = this.node.tryFindChild("BucketNotificationsHandler050a0587b7544547bf325f094a3db834");
    if (!handler) return;
    Validations.of(handler).acknowledge({
      id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
      reason:
        "aws-cdk-lib's BucketNotificationsHandler (a custom resource that only runs during deployments to write the " +
        "uploads bucket's notification configuration) attaches AWSLambdaBasicExecutionRole itself; the S3 " +
        "notifications API offers no way to give it another role.",
    });
  }
}
