// The alarm on failed restore drills: the jobs worker writes the metric as a CloudWatch Embedded Metric Format log line
// (namespace CustomerMaster, metric RestoreDrillFailed, dimension Stage), so it needs no PutMetricData grant.
import { Duration } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import type { Construct } from "constructs";

/** Namespace and name of the metric shared/domain/backups/restore.ts emits. */
export const DRILL_METRIC = { namespace: "CustomerMaster", metricName: "RestoreDrillFailed" } as const;

/** In alarm as soon as one drill of the stage failed within a day; no data (no failure) is not an alarm. */
export function restoreDrillAlarm(scope: Construct, stage: string): Alarm {
  const metric = new Metric({
    ...DRILL_METRIC,
    dimensionsMap: { Stage: stage },
    statistic: "Sum",
    period: Duration.days(1),
  });
  return new Alarm(scope, "RestoreDrillFailedAlarm", {
    alarmDescription: `A restore drill of stage ${stage} failed: a backup could not be restored as recorded`,
    metric,
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
}
