// Readers over a synthesized API stack template: app functions, IAM statements, a worker's queue/DLQ/mapping.
import type { Template } from "aws-cdk-lib/assertions";
import { asArray, refId, resourcesOf, type CfnResource } from "./support.ts";

/** A function of ours (not a CDK-provided handler), with the manifest entry it was built from. */
export interface AppFunction {
  readonly id: string;
  readonly entry: string;
  readonly roleId: string;
  readonly resource: CfnResource;
}

/**
 * The stack's own functions. The construct writes the manifest entry first in the description; aws-cdk-lib's
 * BucketNotificationsHandler (a Python custom-resource handler that only runs during deployments) is left out.
 */
export function functionsOf(template: Template): AppFunction[] {
  return resourcesOf(template, "AWS::Lambda::Function")
    .filter(([id]) => !id.startsWith("BucketNotificationsHandler"))
    .map(([id, resource]) => ({
      id,
      entry: String(resource.Properties.Description).split(" ")[0]!,
      roleId: refId(resource.Properties.Role)!,
      resource,
    }));
}

/** One Allow statement of an IAM policy, with the roles the policy is attached to. */
export interface Statement {
  readonly policyId: string;
  readonly roleIds: string[];
  readonly actions: string[];
  readonly resources: unknown[];
}

/** Every Allow statement of every AWS::IAM::Policy in the template. */
export function policyStatementsOf(template: Template): Statement[] {
  return resourcesOf(template, "AWS::IAM::Policy").flatMap(([policyId, p]) =>
    (p.Properties.PolicyDocument.Statement as { Effect: string; Action: string | string[]; Resource: unknown }[])
      .filter((s) => s.Effect === "Allow")
      .map((s) => ({
        policyId,
        roleIds: asArray(p.Properties.Roles).map((r) => refId(r)!),
        actions: asArray(s.Action),
        resources: asArray(s.Resource),
      })),
  );
}

/** The queue feeding a worker function, its DLQ and the event source mapping between them. */
export function queueParts(template: Template, workerFunctionId: string) {
  const resources = template.toJSON().Resources as Record<string, CfnResource>;
  const mappingEntry = resourcesOf(template, "AWS::Lambda::EventSourceMapping").find(
    ([, m]) => refId(m.Properties.FunctionName) === workerFunctionId,
  );
  if (!mappingEntry) throw new Error(`no event source mapping for ${workerFunctionId}`);
  const [, mapping] = mappingEntry;
  const queueId = refId(mapping.Properties.EventSourceArn)!;
  const queue = resources[queueId]!;
  const dlqId = refId(queue.Properties.RedrivePolicy?.deadLetterTargetArn)!;
  return { mapping, queueId, queue, dlqId, dlq: resources[dlqId]! };
}
