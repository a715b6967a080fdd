// Runs one delivery of a job message: takes the job's lease, hands the job to the runner of its type, then finishes
// it or continues it in a new message before the Lambda's time runs out. Any job type plugs in with a JobRunner.
//
// Why a duplicate or early redelivery is harmless:
// - while a lease is held (until the holder's deadline plus a margin) another delivery does nothing and is done;
// - the holder either finishes the job or releases the lease and then sends the continuation, so some delivery
//   always carries the job on; if the holder dies without either, its own message returns after the visibility
//   timeout (6 x the function timeout, longer than any lease) and takes over;
// - each item's outcome is written with a marker that must not exist yet, in the item's own transaction, so an item
//   is counted (and changed) at most once whichever delivery handles it.
import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import { transact, type GuardedItem } from "../../db/transact.ts";
import { logger } from "../../log/logger.ts";
import { leaseDeadline, JobTally, timeIsShort } from "./progress.ts";
import {
  acquireLease,
  AlreadyRecordedError,
  checkpointJob,
  failJob,
  finishJob,
  getJobItem,
  LeaseLostError,
  outcomeItems,
  releaseLease,
  saveJobCursor,
} from "./repository.ts";
import type { JobItem, JobMessage, JobType } from "./schemas.ts";

/** What a runner gets for one invocation's share of a job. */
export interface JobRun {
  readonly tenant: string;
  /** The job as it was when this invocation took the lease (id, params, createdBy, total...). */
  readonly job: JobItem;
  /** True when the invocation should stop now and return "paused" (progress is checkpointed for it). */
  timeIsShort(): boolean;
  /**
   * Records one item's outcome exactly once. With `write`, the job's items go into the item's own transaction
   * (`write` gets them as extras); without, they are written alone. Resolves "recorded", or "already" when this job
   * handled the item before (nothing was written). Other errors of `write` propagate.
   */
  record(
    outcome: { kind: string; itemId: string; counter: string; error?: string },
    write?: (extras: GuardedItem[]) => Promise<void>,
  ): Promise<"recorded" | "already">;
  /** Stores progress (percent) so far. */
  checkpoint(): Promise<void>;
  /**
   * Stores where a paging job continues; a later run finds it as `job.cursor`. `outcomes` (counter -> items) are the
   * page's outcomes the runner counted itself, without per-item markers: they are added to the job's counters in the
   * same write as the cursor, so they count exactly once however often the page is repeated before it.
   */
  saveCursor(cursor: unknown, outcomes?: Record<string, number>): Promise<void>;
  /**
   * For runners that store their own progress (a chunk's outcomes written with its checkpoint, no per-item marker):
   * the job's processed items, counters and total as now stored, so the finish and checkpoints agree with them.
   */
  setProgress?(p: { processed: number; counts: Record<string, number>; total: number }): void;
}

/** Thrown by a runner when the job cannot succeed (a bad file): the job fails with this reason, shown as it is. */
export class JobFailedError extends Error {
  override readonly name = "JobFailedError";
}

/** Works on a job until it is done or the time is short; "paused" continues it in a new message. */
export type JobRunner = (run: JobRun) => Promise<"done" | "paused">;

export interface JobDeps {
  runners: Partial<Record<JobType, JobRunner>>;
  /** Sends the message that continues the job in another invocation. */
  continueJob: (msg: JobMessage) => Promise<void>;
}

/** This delivery's receive count and the queue's maxReceiveCount (the last delivery marks a failing job failed). */
export interface Delivery {
  receiveCount: number;
  maxReceiveCount: number;
}

export type DeliveryResult =
  | "missing" // no such job (nothing to do)
  | "finished" // the job had already finished: a duplicate or late message
  | "busy" // another delivery holds the lease
  | "succeeded"
  | "paused" // continued in a new message
  | "failed";

/** Safe to show on the job: the detail is in the worker's log. */
const FAILED_REASON = "the job stopped after repeated errors; the worker's log has the detail";

/** Handles one job message. Throws when the run failed (so the message is retried, and in the end lands in the DLQ). */
export async function processJobMessage(
  msg: JobMessage,
  context: Pick<Context, "getRemainingTimeInMillis">,
  delivery: Delivery,
  deps: JobDeps,
): Promise<DeliveryResult> {
  const { tenant, jobId } = msg;
  const found = await getJobItem(tenant, jobId);
  if (!found) return "missing";
  if (found.status === "succeeded" || found.status === "failed") return "finished";
  const runner = deps.runners[found.type];
  if (!runner) {
    logger.error("no runner for this job type", { jobId, type: found.type });
    await failJob(tenant, jobId, `no worker handles jobs of type ${String(found.type)}`);
    return "failed";
  }
  const owner = randomUUID();
  const now = new Date();
  const job = await acquireLease(
    tenant,
    jobId,
    owner,
    leaseDeadline(now.getTime(), context.getRemainingTimeInMillis()),
    now,
  );
  if (!job) return "busy";

  const run = new Run(tenant, job, owner, context);
  let outcome: "done" | "paused";
  try {
    outcome = await runner(run);
  } catch (err) {
    if (err instanceof LeaseLostError) {
      logger.warn("lost the job's lease; another delivery carries it on", { jobId });
      return "busy";
    }
    if (err instanceof JobFailedError) {
      await failJob(tenant, jobId, err.message);
      logger.info("job failed", { jobId, reason: err.message });
      return "failed";
    }
    await releaseLease(tenant, jobId, owner).catch((e: unknown) =>
      logger.warn("could not release the job's lease; it expires on its own", { jobId, error: e as Error }),
    );
    if (delivery.receiveCount >= delivery.maxReceiveCount) {
      await failJob(tenant, jobId, FAILED_REASON);
      logger.error("job failed on its last delivery", { jobId, error: err as Error });
    }
    throw err;
  }
  if (outcome === "done") {
    await finishJob(tenant, jobId, owner, run.tally.processed);
    return "succeeded";
  }
  await run.checkpoint();
  // Release first: a continuation that arrived while the lease was still held would do nothing.
  await releaseLease(tenant, jobId, owner);
  await deps.continueJob({ jobId, tenant });
  return "paused";
}

class Run implements JobRun {
  readonly tally: JobTally;

  constructor(
    readonly tenant: string,
    readonly job: JobItem,
    private readonly owner: string,
    private readonly context: Pick<Context, "getRemainingTimeInMillis">,
  ) {
    this.tally = new JobTally(job);
  }

  timeIsShort(): boolean {
    return timeIsShort(this.context.getRemainingTimeInMillis());
  }

  private total: number | undefined;

  setProgress(p: { processed: number; counts: Record<string, number>; total: number }): void {
    this.tally.processed = p.processed;
    Object.assign(this.tally.counts, p.counts);
    this.total = p.total;
  }

  async record(
    o: { kind: string; itemId: string; counter: string; error?: string },
    write?: (extras: GuardedItem[]) => Promise<void>,
  ): Promise<"recorded" | "already"> {
    const error = o.error === undefined ? undefined : { id: o.itemId, message: o.error };
    const items = outcomeItems(
      this.tenant,
      this.job.id,
      this.owner,
      { kind: o.kind, itemId: o.itemId, counter: o.counter, error, keepError: this.tally.keepsError() },
      new Date(),
    );
    try {
      await (write ? write(items) : transact(items));
    } catch (err) {
      if (err instanceof AlreadyRecordedError) return "already";
      throw err;
    }
    this.tally.add(o.counter, error);
    return "recorded";
  }

  async saveCursor(cursor: unknown, outcomes?: Record<string, number>): Promise<void> {
    if (!outcomes) {
      await saveJobCursor(this.tenant, this.job.id, this.owner, cursor, this.tally.percent(this.job.total));
      return;
    }
    const after = new JobTally({ processed: this.tally.processed, counts: this.tally.counts, errors: [] });
    for (const [counter, n] of Object.entries(outcomes)) {
      after.processed += n;
      after.counts[counter] = (after.counts[counter] ?? 0) + n;
    }
    await saveJobCursor(this.tenant, this.job.id, this.owner, cursor, after.percent(this.job.total), after);
    this.tally.processed = after.processed;
    Object.assign(this.tally.counts, after.counts);
  }

  async checkpoint(): Promise<void> {
    await checkpointJob(this.tenant, this.job.id, this.owner, this.tally.percent(this.total ?? this.job.total));
  }
}
