// The nightly queue's worker: a schedule tick starts the day's per-tenant jobs (classification refresh and dormancy).
// Idempotent: a tick delivered twice, or two ticks of one day, start one job per tenant and day.
import * as z from "zod";
import { runNightlyClassification } from "../../shared/domain/classification/nightly.ts";
import { logger } from "../../shared/log/logger.ts";
import { sqsWorker } from "../../shared/queue/worker.ts";

export const NightlyMessage = z.strictObject({ kind: z.literal("classification"), scheduledAt: z.iso.datetime() });

export const handler = sqsWorker(NightlyMessage, async (msg, record) => {
  const started = await runNightlyClassification(msg.scheduledAt);
  logger.info("nightly classification tick", { started, scheduledAt: msg.scheduledAt, messageId: record.messageId });
});
