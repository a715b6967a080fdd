// The imports queue's worker: S3 ObjectCreated notifications for `imports/` in the uploads bucket. Each object starts
// (or, for an upload made through POST /v1/imports, releases) one import job on the jobs queue; the jobs worker runs it.
// The queue also carries upload deadlines: an import whose file never came fails once its upload link has expired.
import * as z from "zod";
import { UploadDeadlineMessageSchema } from "../../shared/domain/imports/schemas.ts";
import {
  checkUploadDeadline,
  importObjectCreated,
  logIgnored,
  type SendDeadline,
  sendToImportsQueue,
} from "../../shared/domain/imports/service.ts";
import { decodeEventKey } from "../../shared/domain/imports/storage.ts";
import { logger } from "../../shared/log/logger.ts";
import { sqsWorker, type SqsWorkerHandler } from "../../shared/queue/worker.ts";

const S3Record = z.object({
  eventSource: z.literal("aws:s3"),
  eventName: z.string(),
  eventTime: z.string(),
  s3: z.object({
    bucket: z.object({ name: z.string() }),
    object: z.object({
      key: z.string(),
      size: z.number().optional(),
      eTag: z.string().optional(),
      sequencer: z.string().optional(),
    }),
  }),
});
const S3Notification = z.object({ Records: z.array(S3Record).min(1) });
/** What S3 sends once when a notification configuration is created. */
const S3TestEvent = z.object({ Service: z.literal("Amazon S3"), Event: z.literal("s3:TestEvent") });

export const ImportsMessage = z.union([S3Notification, S3TestEvent, UploadDeadlineMessageSchema]);

/** The worker with its ports: tests pass their own `sendDeadline` to deliver delayed deadline messages themselves. */
export function importsWorker(deps: { sendDeadline?: SendDeadline } = {}): SqsWorkerHandler {
  return sqsWorker(ImportsMessage, async (msg, record) => {
    if ("kind" in msg) {
      const result = await checkUploadDeadline(msg, deps.sendDeadline ?? sendToImportsQueue);
      logger.info("import upload deadline", { jobId: msg.jobId, tenant: msg.tenant, result });
      return;
    }
    if (!("Records" in msg)) return;
    for (const r of msg.Records) {
      if (!r.eventName.startsWith("ObjectCreated:")) continue;
      const o = {
        bucket: r.s3.bucket.name,
        key: decodeEventKey(r.s3.object.key),
        size: r.s3.object.size ?? 0,
        etag: (r.s3.object.eTag ?? "").replace(/"/g, ""),
        sequencer: r.s3.object.sequencer ?? r.eventTime,
      };
      const result = await importObjectCreated(o);
      if (result.outcome === "ignored") logIgnored(o, result.reason);
      else logger.info("import object", { key: o.key, ...result, messageId: record.messageId });
    }
  });
}

export const handler = importsWorker();
