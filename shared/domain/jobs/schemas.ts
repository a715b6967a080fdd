// Background jobs: the stored shape, the API view and the queue message that starts or continues one.
import * as z from "zod";

/** Job types the jobs worker knows; a new kind of job adds its name here and its runner in the worker. */
export const JOB_TYPES = [
  "handover",
  "classify",
  "import",
  "export",
  "batch-update",
  "backup",
  "backup-drill",
  "backup-restore",
  "reminder-index",
] as const;
export type JobType = (typeof JOB_TYPES)[number];

export const JOB_STATUSES = ["queued", "running", "succeeded", "failed"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** At most this many per-item errors are kept on a job; `counts.failed` still counts them all. */
export const MAX_JOB_ERRORS = 50;

export interface JobError {
  id: string;
  message: string;
}

/** A job as the API shows it. */
export interface Job {
  id: string;
  type: JobType;
  status: JobStatus;
  /** Items handled so far (whatever their outcome). */
  processed: number;
  /** Items expected, estimated when the job starts; on success it becomes the number actually handled. */
  total: number;
  percent: number;
  counts: Record<string, number>;
  errors: JobError[];
  params: Record<string, unknown>;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Why the job failed as a whole (per-item failures are in `errors`). */
  failureReason?: string;
  /** Invocations that have worked on the job. */
  runs?: number;
  version: number;
}

/** A stored job: the API fields plus the lease that keeps two deliveries from working on it at once. */
export type JobItem = Job & {
  /** Who holds the lease (one id per invocation). */
  leaseOwner?: string;
  /** Epoch milliseconds after which the lease is free again (the holder's Lambda deadline plus a margin). */
  leaseUntil?: number;
  /** Where a paging job continues (its own shape; saved with `saveCursor`). */
  cursor?: unknown;
};

/** The jobs queue's message: which job to start or continue. The job itself holds everything else. */
export const JobMessageSchema = z.strictObject({
  jobId: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, "not a job id"),
  tenant: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/, "not a tenant id"),
});
export type JobMessage = z.infer<typeof JobMessageSchema>;
