// Builds the CDK app (both stacks of one stage, cdk-nag registered); used by infra/app.ts and by the infra tests.
import { App, Tags, Validations, type AppProps } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { ApiStack, type Manifest } from "./stacks/api-stack.ts";
import { DataStack } from "./stacks/data-stack.ts";

/** Options of {@link buildApp}. */
export interface BuildAppOptions {
  /**
   * App props; `context` carries stage, logLevel, listShards, corsOrigins, emailSender / emailIdentity (reminder
   * e-mail through SES) and feature flags (cdk.json).
   */
  readonly appProps?: AppProps;
  /** Another manifest (tests); functions/manifest.ts by default. */
  readonly manifest?: Manifest;
}

/** The built app and its parts. */
export interface BuiltApp {
  readonly app: App;
  readonly stage: string;
  readonly dataStack: DataStack;
  readonly apiStack: ApiStack;
  /** The registered AwsSolutions pack; `nag.validateScope(stack)` reports unacknowledged findings. */
  readonly nag: AwsSolutionsChecks;
}

const STAGE_PATTERN = /^[a-z][a-z0-9]{1,9}$/;

/** Creates the app: a stateful and a stateless stack for the stage in context `stage` (default `dev`). */
export function buildApp(options: BuildAppOptions = {}): BuiltApp {
  const app = new App(options.appProps);
  const ctx = <T>(key: string, fallback: T): T => (app.node.tryGetContext(key) as T | undefined) ?? fallback;

  const stage = String(ctx("stage", "dev"));
  if (!STAGE_PATTERN.test(stage)) {
    throw new Error(`stage "${stage}" must match ${STAGE_PATTERN} (it becomes part of bucket names)`);
  }
  const corsOrigins = ctx<string[]>("corsOrigins", ["*"]);
  // Env-agnostic unless the CLI knows the account and region (CDK_DEFAULT_*): nothing here needs lookups.
  const env =
    process.env.CDK_DEFAULT_ACCOUNT && process.env.CDK_DEFAULT_REGION
      ? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION }
      : undefined;

  const dataStack = new DataStack(app, `customer-master-${stage}-data`, {
    env,
    stage,
    corsOrigins,
    nativeExport: String(ctx<unknown>("nativeExport", false)) === "true",
    description: `Customer master ${stage}: table, buckets, user pool (stateful, retained)`,
    terminationProtection: stage === "prod",
  });
  const apiStack = new ApiStack(app, `customer-master-${stage}-api`, {
    env,
    stage,
    data: dataStack,
    ...(options.manifest ? { manifest: options.manifest } : {}),
    logLevel: ctx("logLevel", "INFO"),
    listShards: Number(ctx("listShards", 8)),
    corsOrigins,
    ...(ctx<string | undefined>("emailSender", undefined) ? { emailSender: ctx<string>("emailSender", "") } : {}),
    ...(ctx<string | undefined>("emailIdentity", undefined) ? { emailIdentity: ctx<string>("emailIdentity", "") } : {}),
    description: `Customer master ${stage}: HTTP API, functions, queues, schedules (stateless)`,
  });
  apiStack.addStackDependency(dataStack, "functions use the table, buckets, secret and user pool by name");

  Tags.of(app).add("project", "customer-master");
  Tags.of(app).add("stage", stage);

  const nag = new AwsSolutionsChecks(app, { verbose: true });
  Validations.of(app).addPlugins(nag);
  return { app, stage, dataStack, apiStack, nag };
}
