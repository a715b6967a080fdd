// cdk-nag AwsSolutions (v3, a CDK validation plugin) and the CDK's own CloudFormation validation pass on both stacks,
// as in `cdk synth`; every acknowledgement carries a reason.
import { Annotations, Match } from "aws-cdk-lib/assertions";
import { Validations, type Stack } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../infra/build-app.ts";
import { synthApp } from "./support.ts";

const built = synthApp({ cfnValidation: true });
const stacks: [string, Stack][] = [
  ["data", built.dataStack],
  ["api", built.apiStack],
];

describe.each(stacks)("%s stack", (_name, stack) => {
  it("has no unacknowledged AwsSolutions error or warning", () => {
    const report = built.nag.validateScope(stack);
    const findings = report.violations.map(
      (v) =>
        `${v.severity} ${v.ruleName}: ${v.description}\n    ${v.violatingResources.map((r) => r.constructPath).join("\n    ")}`,
    );
    expect(findings, findings.join("\n")).toEqual([]);
    expect(report.success).toBe(true);
  });

  it("has no error annotations and no AwsSolutions annotations", () => {
    const annotations = Annotations.fromStack(stack);
    const errors = annotations.findError("*", Match.anyValue());
    const nagWarnings = annotations.findWarning("*", Match.stringLikeRegexp("AwsSolutions-.*"));
    expect([...errors, ...nagWarnings], JSON.stringify([...errors, ...nagWarnings], null, 2)).toEqual([]);
  });

  it("gives a specific reason for every acknowledgement", () => {
    const acks = stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, { reason?: string } | string>));
    expect(acks.length).toBeGreaterThan(0);
    for (const [id, value] of acks) {
      const reason = typeof value === "string" ? value : (value.reason ?? "");
      expect(id).toMatch(/AwsSolutions-/);
      expect(reason.length, `reason of ${id}`).toBeGreaterThan(40);
    }
  });
});

describe("cdk-nag is wired into synthesis", () => {
  it("fails `cdk synth` when a finding is not acknowledged", async () => {
    const { readFileSync } = await import("node:fs");
    const { Bucket } = await import("aws-cdk-lib/aws-s3");
    const ctx = JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8")).context;
    const app = buildApp({
      appProps: { context: { ...ctx, "aws:cdk:bundling-stacks": [] }, builtinCloudFormationValidation: false },
    });
    new Bucket(app.apiStack, "CarelessBucket");
    expect(() => app.app.synth()).toThrow(/AwsSolutions-S1|Validation failed/);
  });
});
