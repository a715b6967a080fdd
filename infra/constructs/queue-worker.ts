// One queue with its DLQ, alarm and worker: visibility = 6 x worker timeout, partial batch failures, poison -> DLQ.
import { Duration } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, TreatMissingData, type IAlarmAction } from "aws-cdk-lib/aws-cloudwatch";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { QueueDef } from "../../functions/manifest.ts";
import { ApiFunction, type ApiFunctionProps } from "./api-function.ts";

/** Props of {@link QueueWorker}. */
export interface QueueWorkerProps {
  /** Logical queue name (the manifest key); used in QUEUE_URLS and in descriptions. */
  readonly name: string;
  /** The manifest entry: worker module, table access, timeout, batch size, maxReceiveCount, sendsTo. */
  readonly def: QueueDef;
  /** Everything the worker function shares with the others (table, stage, environment, ...). */
  readonly function: Omit<ApiFunctionProps, "entry" | "tableAccess" | "timeout" | "sendsTo" | "description">;
  /** How long a failed message stays in the DLQ. @default 14 days */
  readonly dlqRetention?: Duration;
  /** Where the DLQ alarm notifies (e.g. an SNS topic action); none by default. */
  readonly alarmActions?: readonly IAlarmAction[];
}

/** Multiple of the worker timeout the visibility timeout is set to (AWS guidance for Lambda event sources). */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/**
 * An SQS queue (SQS-managed encryption, TLS only) and its DLQ, the worker function (through {@link ApiFunction})
 * fed by an event source mapping that reports partial batch failures, and an alarm when the DLQ holds anything.
 */
export class QueueWorker extends Construct {
  /** The work queue. */
  readonly queue: Queue;
  /** Messages that failed `maxReceiveCount` times. */
  readonly deadLetterQueue: Queue;
  /** The worker. */
  readonly worker: ApiFunction;
  /** In alarm while the DLQ has visible messages. */
  readonly dlqAlarm: Alarm;

  constructor(scope: Construct, id: string, props: QueueWorkerProps) {
    super(scope, id);
    const { def } = props;
    const timeout = Duration.seconds(def.timeoutSeconds);

    this.deadLetterQueue = new Queue(this, "DeadLetterQueue", {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: props.dlqRetention ?? Duration.days(14),
    });
    this.queue = new Queue(this, "Queue", {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(def.timeoutSeconds * VISIBILITY_TIMEOUT_FACTOR),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: def.maxReceiveCount },
    });

    this.worker = new ApiFunction(this, "Worker", {
      ...props.function,
      entry: def.worker,
      description: `${def.worker} (queue ${props.name})`,
      tableAccess: def.table,
      timeout,
    });
    this.worker.fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: def.batchSize,
        reportBatchItemFailures: true,
        // Batches above 10 messages are only allowed with a batching window.
        ...(def.batchSize > 10 ? { maxBatchingWindow: Duration.seconds(1) } : {}),
      }),
    );

    this.dlqAlarm = new Alarm(this, "DeadLetterAlarm", {
      alarmDescription: `Messages of queue ${props.name} failed ${def.maxReceiveCount} times and wait in its DLQ`,
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: "Maximum",
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    for (const action of props.alarmActions ?? []) this.dlqAlarm.addAlarmAction(action);
  }
}
