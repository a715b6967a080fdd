// Builds and synthesizes the CDK app once per test file, with cdk.json's context and bundling skipped.
import { readFileSync } from "node:fs";
import { Template } from "aws-cdk-lib/assertions";
import { buildApp, type BuiltApp } from "../../infra/build-app.ts";
import type { Manifest } from "../../infra/stacks/api-stack.ts";

/** A synthesized app and the templates of both stacks (synthesis throws if cdk-nag reports an error). */
export interface SynthesizedApp extends BuiltApp {
  readonly data: Template;
  readonly api: Template;
}

const cdkJson = JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8")) as {
  context: Record<string, unknown>;
};

/** Options of {@link synthApp}. */
export interface SynthOptions {
  /** Extra context over cdk.json's. */
  readonly context?: Record<string, unknown>;
  /** Another manifest than functions/manifest.ts. */
  readonly manifest?: Manifest;
  /**
   * Run the CDK's built-in CloudFormation validation (schema and lint rules, ~5 s) as `cdk synth` does.
   * Off by default: the nag test turns it on; template tests do not need it. cdk-nag runs either way.
   */
  readonly cfnValidation?: boolean;
}

/** Builds the app as `cdk synth` would (cdk.json context), without esbuild bundling, and synthesizes it. */
export function synthApp(options: SynthOptions = {}): SynthesizedApp {
  const built = buildApp({
    appProps: {
      context: { ...cdkJson.context, "aws:cdk:bundling-stacks": [], ...options.context },
      builtinCloudFormationValidation: options.cfnValidation ?? false,
    },
    ...(options.manifest ? { manifest: options.manifest } : {}),
  });
  built.app.synth();
  return { ...built, data: Template.fromStack(built.dataStack), api: Template.fromStack(built.apiStack) };
}

/** Resources of a type from a template, as [logicalId, resource] pairs. */
export function resourcesOf(template: Template, type: string): [string, CfnResource][] {
  return Object.entries(template.findResources(type)) as [string, CfnResource][];
}

/** The one resource of a type; throws unless there is exactly one. */
export function onlyResource(template: Template, type: string): [string, CfnResource] {
  const all = resourcesOf(template, type);
  if (all.length !== 1) throw new Error(`expected one ${type}, found ${all.length}`);
  return all[0]!;
}

/** The parts of a CloudFormation resource the tests read. */
export interface CfnResource {
  Type: string;
  Properties: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  DependsOn?: string[];
}

/** `{ Ref: id }` or `{ "Fn::GetAtt": [id, attr] }` -> id. */
export function refId(value: unknown): string | undefined {
  if (value && typeof value === "object") {
    const v = value as { Ref?: string; "Fn::GetAtt"?: [string, string] };
    return v.Ref ?? v["Fn::GetAtt"]?.[0];
  }
  return undefined;
}

/** Normalizes a policy statement's Action/Resource (string or array) to arrays. */
export function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
