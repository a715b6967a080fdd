// Pure job bookkeeping: percent, the lease's deadline, when to stop and continue, and a run's counters.
import { type JobError, type JobItem, MAX_JOB_ERRORS } from "./schemas.ts";

/**
 * Time an invocation keeps in reserve: below this remaining time a job stops, checkpoints and continues in a new
 * message. One item's worst case (a transaction retried through audit-chain races, plus a few re-reads) stays
 * well under it.
 */
export const TIME_RESERVE_MS = 15_000;

/** Added to the holder's own deadline: the lease outlives the invocation a little, never a redelivery (6 x timeout). */
export const LEASE_MARGIN_MS = 5_000;

/** Percent done while running: floor of processed / total, never 100 before the job has finished (nor above). */
export function percentOf(processed: number, total: number): number {
  if (total <= 0 || processed <= 0) return 0;
  return Math.min(99, Math.floor((processed * 100) / total));
}

/** Epoch ms until which a lease taken now by an invocation with `remainingMs` left is held. */
export function leaseDeadline(nowMs: number, remainingMs: number): number {
  return nowMs + Math.max(0, remainingMs) + LEASE_MARGIN_MS;
}

/** True when nobody holds the job's lease at `nowMs` (never taken, released, or expired). */
export function leaseFree(job: Pick<JobItem, "leaseUntil">, nowMs: number): boolean {
  return job.leaseUntil === undefined || job.leaseUntil < nowMs;
}

/** True when an invocation with `remainingMs` left should stop and continue in a new message. */
export function timeIsShort(remainingMs: number, reserveMs = TIME_RESERVE_MS): boolean {
  return remainingMs < reserveMs;
}

/**
 * A run's view of the job's counters. The run holds the lease, so nobody else changes them: the counts read when
 * the lease was taken plus this run's own recorded outcomes are exact.
 */
export class JobTally {
  processed: number;
  readonly counts: Record<string, number>;
  private errorsKept: number;

  constructor(job: Pick<JobItem, "processed" | "counts" | "errors">) {
    this.processed = job.processed ?? 0;
    this.counts = { ...(job.counts ?? {}) };
    this.errorsKept = job.errors?.length ?? 0;
  }

  /** Whether an error recorded now is still kept on the job (the list is bounded). */
  keepsError(): boolean {
    return this.errorsKept < MAX_JOB_ERRORS;
  }

  /** Applies one recorded outcome (after its write succeeded). */
  add(counter: string, error?: JobError): void {
    this.processed += 1;
    this.counts[counter] = (this.counts[counter] ?? 0) + 1;
    if (error && this.keepsError()) this.errorsKept += 1;
  }

  percent(total: number): number {
    return percentOf(this.processed, total);
  }
}
