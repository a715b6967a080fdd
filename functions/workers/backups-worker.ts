// The backups queue's worker: on the nightly tick, starts one backup job per tenant (at most one per tenant and UTC
// day, whatever the number of ticks or redeliveries); the jobs worker runs them, then their drills.
import * as z from "zod";
import { startNightlyBackups } from "../../shared/domain/backups/nightly.ts";
import { logger } from "../../shared/log/logger.ts";
import { sqsWorker } from "../../shared/queue/worker.ts";

export const NightlyMessage = z.object({ kind: z.literal("nightly"), scheduledAt: z.iso.datetime() });

export const handler = sqsWorker(NightlyMessage, async (msg) => {
  const started = await startNightlyBackups(new Date(msg.scheduledAt));
  logger.info("nightly backups started", { scheduledAt: msg.scheduledAt, jobs: started.length });
});
