// Backups in the CDK app: the failed-drill alarm on the metric the jobs worker emits, the nightly schedule onto the
// backups queue, retention's delete grant, PITR and a versioned encrypted bucket, and the optional native export.
import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { DRILL_METRIC } from "../../infra/constructs/drill-alarm.ts";
import { synthApp } from "./support.ts";

const built = synthApp();

describe("backups (default stage)", () => {
  it("alarms when one restore drill failed within a day", () => {
    built.api.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: DRILL_METRIC.namespace,
      MetricName: DRILL_METRIC.metricName,
      Dimensions: [{ Name: "Stage", Value: built.stage }],
      Statistic: "Sum",
      Period: 86400,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      TreatMissingData: "notBreaching",
    });
  });

  it("runs the nightly backup schedule onto the backups queue", () => {
    built.api.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "cron(0 19 * * ? *)",
      Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [Match.stringLikeRegexp("^BackupsQueue"), "Arn"] } })],
    });
  });

  it("lets the jobs worker delete backup objects under tenants/ and nothing else", () => {
    const policies = built.api.findResources("AWS::IAM::Policy");
    const deletes = Object.values(policies).flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]).filter((s) =>
        [s.Action].flat().includes("s3:DeleteObject"),
      ),
    );
    expect(deletes).toHaveLength(1);
    expect(JSON.stringify(deletes[0]!.Resource)).toContain("/tenants/*");
  });

  it("keeps PITR on the table and the backups bucket versioned and encrypted; no native export unless asked", () => {
    built.data.hasResourceProperties("AWS::DynamoDB::Table", {
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    built.data.hasResourceProperties("AWS::S3::Bucket", {
      BucketName: Match.objectLike({
        "Fn::Join": Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp("-backups-")])]),
      }),
      VersioningConfiguration: { Status: "Enabled" },
      BucketEncryption: Match.anyValue(),
    });
    built.data.resourceCountIs("AWS::Scheduler::Schedule", 0);
  });
});

describe("backups with the native export", () => {
  const withExport = synthApp({ context: { nativeExport: "true" } });

  it("exports the table to native/ of the backups bucket every night, with a role limited to that", () => {
    withExport.data.hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "cron(30 19 * * ? *)",
      Target: Match.objectLike({ Arn: "arn:aws:scheduler:::aws-sdk:dynamodb:exportTableToPointInTime" }),
    });
    const report = withExport.nag.validateScope(withExport.dataStack);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });
});
