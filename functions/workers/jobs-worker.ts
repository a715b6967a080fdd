// The jobs queue's worker: one message = one job to start or continue; dispatched by the job's type to its runner.
// A new kind of job (classification apply, imports, exports, backups) adds its type and its runner to RUNNERS.
import { runClassify } from "../../shared/domain/classification/recompute.ts";
import { processJobMessage, type JobDeps, type JobRunner } from "../../shared/domain/jobs/runner.ts";
import { JobMessageSchema, type JobType } from "../../shared/domain/jobs/schemas.ts";
import { sendToJobsQueue } from "../../shared/domain/jobs/service.ts";
import { runBatchUpdate } from "../../shared/domain/exports/batch-update.ts";
import { runExport } from "../../shared/domain/exports/runner.ts";
import { runImport } from "../../shared/domain/imports/runner.ts";
import { runHandover } from "../../shared/domain/org/handover.ts";
import { runBackup } from "../../shared/domain/backups/backup.ts";
import { runDrill, runReplace } from "../../shared/domain/backups/restore.ts";
import { runReminderBackfill } from "../../shared/domain/reminders/backfill.ts";
import { logger } from "../../shared/log/logger.ts";
import { sqsWorker, type SqsWorkerHandler } from "../../shared/queue/worker.ts";
import { queues } from "../manifest.ts";

export const RUNNERS: Record<JobType, JobRunner> = {
  handover: runHandover,
  backup: runBackup,
  "backup-drill": runDrill,
  "backup-restore": runReplace,
  import: runImport,
  export: runExport,
  "batch-update": runBatchUpdate,
  classify: runClassify,
  "reminder-index": runReminderBackfill,
};

/** The worker with its ports: tests pass their own `continueJob` to deliver continuations themselves. */
export function jobsWorker(deps: Partial<JobDeps> = {}): SqsWorkerHandler {
  const full: JobDeps = { runners: deps.runners ?? RUNNERS, continueJob: deps.continueJob ?? sendToJobsQueue };
  return sqsWorker(JobMessageSchema, async (msg, record, context) => {
    const delivery = {
      receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? 1),
      maxReceiveCount: queues.jobs.maxReceiveCount,
    };
    const result = await processJobMessage(msg, context, delivery, full);
    logger.info("job message handled", { jobId: msg.jobId, tenant: msg.tenant, result, messageId: record.messageId });
  });
}

export const handler = jobsWorker();
