// The health queue's worker: records schedule heartbeats, pings and S3 drops (including S3's test event) so the
// schedule -> SQS -> worker -> table and S3 -> SQS -> worker -> table chains can be checked end to end.
import * as z from "zod";
import { type HealthSignal, recordHealthSignal } from "../../shared/domain/system/health-repository.ts";
import { logger } from "../../shared/log/logger.ts";
import { sqsWorker } from "../../shared/queue/worker.ts";

const Heartbeat = z.object({ kind: z.literal("heartbeat"), scheduledAt: z.iso.datetime() });
const Ping = z.object({ kind: z.literal("ping"), id: z.string().min(1).max(200) });
const S3Record = z.object({
  eventSource: z.literal("aws:s3"),
  eventName: z.string(),
  eventTime: z.string(),
  s3: z.object({
    bucket: z.object({ name: z.string() }),
    object: z.object({ key: z.string(), size: z.number().optional(), sequencer: z.string().optional() }),
  }),
});
const S3Notification = z.object({ Records: z.array(S3Record).min(1) });
/** What S3 sends once when a notification configuration is created. */
const S3TestEvent = z.object({
  Service: z.literal("Amazon S3"),
  Event: z.literal("s3:TestEvent"),
  Bucket: z.string(),
  Time: z.string(),
});

export const HealthMessage = z.union([Heartbeat, Ping, S3Notification, S3TestEvent]);
export type HealthMessage = z.infer<typeof HealthMessage>;

/** S3 event keys are URL-encoded with + for spaces. */
const decodeKey = (key: string) => decodeURIComponent(key.replace(/\+/g, " "));

function signalsOf(msg: HealthMessage): HealthSignal[] {
  if ("kind" in msg) {
    return msg.kind === "heartbeat"
      ? [{ kind: "heartbeat", eventId: msg.scheduledAt, detail: { scheduledAt: msg.scheduledAt } }]
      : [{ kind: "ping", eventId: msg.id, detail: { id: msg.id } }];
  }
  if ("Records" in msg) {
    return msg.Records.map((r) => {
      const key = decodeKey(r.s3.object.key);
      return {
        kind: "s3" as const,
        eventId: `${r.s3.bucket.name}/${key}@${r.s3.object.sequencer ?? r.eventTime}`,
        detail: { bucket: r.s3.bucket.name, key, eventName: r.eventName, size: r.s3.object.size ?? 0 },
      };
    });
  }
  return [{ kind: "s3-test", eventId: `${msg.Bucket}@${msg.Time}`, detail: { bucket: msg.Bucket } }];
}

export const handler = sqsWorker(HealthMessage, async (msg, record) => {
  for (const signal of signalsOf(msg)) {
    const outcome = await recordHealthSignal(signal);
    logger.info("health signal", { kind: signal.kind, outcome, messageId: record.messageId });
  }
});
