// Unit tests for the jobs facility against a mocked DynamoDB: progress math, the lease, outcome recording, dispatch
// by type (finish, pause and continue, busy, finished, failing runs), the worker's message handling and job reads.
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from "@aws-sdk/lib-dynamodb";
import type { Context, SQSEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { jobsWorker } from "../../../functions/workers/jobs-worker.ts";
import { newId } from "../../../shared/db/ids.ts";
import { jobKeys } from "../../../shared/domain/jobs/keys.ts";
import {
  JobTally,
  LEASE_MARGIN_MS,
  leaseDeadline,
  leaseFree,
  percentOf,
  TIME_RESERVE_MS,
  timeIsShort,
} from "../../../shared/domain/jobs/progress.ts";
import {
  acquireLease,
  checkpointJob,
  LeaseLostError,
  outcomeItems,
  releaseLease,
} from "../../../shared/domain/jobs/repository.ts";
import { type JobRun, type JobRunner, processJobMessage } from "../../../shared/domain/jobs/runner.ts";
import { type JobItem, MAX_JOB_ERRORS } from "../../../shared/domain/jobs/schemas.ts";
import { readJob } from "../../../shared/domain/jobs/service.ts";
import { NotFoundError } from "../../../shared/http/errors.ts";
import { aCaller, aTenant, cancelWhere } from "./support/builders.ts";
import { addsOf, removesOf, setsOf } from "./support/expressions.ts";
import { sqsRecord } from "../../support/job-events.ts";

const ddbMock = mockClient(DynamoDBDocumentClient);
beforeEach(() => ddbMock.reset());

const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} });

function aJob(tenant: string, overrides: Partial<JobItem> = {}): JobItem & { PK: string; SK: string } {
  const id = overrides.id ?? newId();
  return {
    PK: jobKeys.pk(tenant, id),
    SK: jobKeys.jobSk(),
    id,
    type: "handover",
    status: "queued",
    processed: 0,
    total: 40,
    percent: 0,
    counts: { moved: 0, skipped: 0, failed: 0 },
    errors: [],
    params: { fromUserId: "u-a", toUserId: "u-b" },
    createdBy: "u-admin",
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
    version: 1,
    ...overrides,
  };
}

const updates = (): UpdateCommandInput[] => ddbMock.commandCalls(UpdateCommand).map((c) => c.args[0].input);
const context = (remaining = 60_000) => ({ getRemainingTimeInMillis: () => remaining });
const FIRST = { receiveCount: 1, maxReceiveCount: 5 };
const LAST = { receiveCount: 5, maxReceiveCount: 5 };

describe("progress math", () => {
  it("gives percent as the floor of processed / total, below 100 until the job has finished", () => {
    expect(percentOf(0, 40)).toBe(0);
    expect(percentOf(10, 40)).toBe(25);
    expect(percentOf(1, 3)).toBe(33);
    expect(percentOf(39, 40)).toBe(97);
    expect(percentOf(40, 40)).toBe(99);
    expect(percentOf(45, 40)).toBe(99);
    expect(percentOf(3, 0)).toBe(0);
  });

  it("holds a lease until the holder's deadline plus a margin, and frees it after", () => {
    expect(leaseDeadline(1_000, 60_000)).toBe(61_000 + LEASE_MARGIN_MS);
    expect(leaseDeadline(1_000, -5)).toBe(1_000 + LEASE_MARGIN_MS);
    expect(leaseFree({}, 5_000)).toBe(true);
    expect(leaseFree({ leaseUntil: 4_999 }, 5_000)).toBe(true);
    expect(leaseFree({ leaseUntil: 5_000 }, 5_000)).toBe(false);
    expect(leaseFree({ leaseUntil: 9_000 }, 5_000)).toBe(false);
  });

  it("stops a run once less than the reserve is left", () => {
    expect(timeIsShort(TIME_RESERVE_MS - 1)).toBe(true);
    expect(timeIsShort(TIME_RESERVE_MS)).toBe(false);
    expect(timeIsShort(60_000)).toBe(false);
  });

  it("tallies outcomes from the counts read with the lease and keeps a bounded number of errors", () => {
    const tally = new JobTally({ processed: 7, counts: { moved: 6, skipped: 1 }, errors: [] });
    tally.add("moved");
    tally.add("failed", { id: "c1", message: "x" });
    expect(tally.processed).toBe(9);
    expect(tally.counts).toEqual({ moved: 7, skipped: 1, failed: 1 });
    expect(tally.percent(18)).toBe(50);

    const full = new JobTally({
      processed: MAX_JOB_ERRORS,
      counts: { failed: MAX_JOB_ERRORS },
      errors: Array.from({ length: MAX_JOB_ERRORS - 1 }, (_, i) => ({ id: `c${i}`, message: "x" })),
    });
    expect(full.keepsError()).toBe(true);
    full.add("failed", { id: "last", message: "x" });
    expect(full.keepsError()).toBe(false);
  });
});

describe("the lease", () => {
  it("is taken only on a queued or running job whose lease is free, marking it running", async () => {
    const tenant = aTenant();
    const job = aJob(tenant);
    ddbMock.on(UpdateCommand).resolves({ Attributes: { ...job, status: "running", leaseOwner: "me" } });
    const now = new Date("2026-03-01T00:00:00.000Z");

    const got = await acquireLease(tenant, job.id, "me", now.getTime() + 65_000, now);

    expect(got).toMatchObject({ id: job.id, status: "running", leaseOwner: "me" });
    const input = updates()[0]!;
    expect(input.Key).toEqual({ PK: jobKeys.pk(tenant, job.id), SK: "JOB" });
    expect(input.ConditionExpression).toBe(
      "attribute_exists(PK) AND #status IN (:queued, :running) AND " +
        "(attribute_not_exists(leaseUntil) OR leaseUntil < :nowMs)",
    );
    expect(input.ExpressionAttributeValues).toMatchObject({
      ":owner": "me",
      ":until": now.getTime() + 65_000,
      ":nowMs": now.getTime(),
      ":running": "running",
    });
    expect(addsOf(input)).toEqual({ runs: 1, version: 1 });
    expect(input.ReturnValues).toBe("ALL_NEW");
  });

  it("is refused (undefined) while someone else holds it or the job has finished", async () => {
    ddbMock.on(UpdateCommand).rejects(conditionFailed());
    expect(await acquireLease(aTenant(), newId(), "me", 1, new Date())).toBeUndefined();
  });

  it("is released only by its owner; a lease already gone is no error", async () => {
    ddbMock.on(UpdateCommand).rejects(conditionFailed());
    await expect(releaseLease(aTenant(), newId(), "me")).resolves.toBeUndefined();
    const input = updates()[0]!;
    expect(input.ConditionExpression).toBe("leaseOwner = :owner");
    expect(removesOf(input)).toEqual(["leaseOwner", "leaseUntil"]);
  });

  it("fences every progress write: a checkpoint without the lease raises LeaseLostError", async () => {
    ddbMock.on(UpdateCommand).rejects(conditionFailed());
    await expect(checkpointJob(aTenant(), newId(), "me", 40)).rejects.toBeInstanceOf(LeaseLostError);
    expect(setsOf(updates()[0]!)).toMatchObject({ percent: 40 });
  });

  it("records an outcome with a marker that must not exist yet and counters fenced by the lease", () => {
    const tenant = aTenant();
    const jobId = newId();
    const now = new Date("2026-03-01T00:00:00.000Z");
    const [marker, counters] = outcomeItems(
      tenant,
      jobId,
      "me",
      { kind: "customer", itemId: "c1", counter: "failed", error: { id: "c1", message: "boom" }, keepError: true },
      now,
    );
    expect(marker!.item.Put).toMatchObject({
      Item: { PK: jobKeys.pk(tenant, jobId), SK: "ITEM#customer#c1", entity: "job-item", outcome: "failed" },
      ConditionExpression: "attribute_not_exists(PK)",
    });
    expect(marker!.item.Put!.Item!.expiresAt).toBeGreaterThan(now.getTime() / 1000);
    const update = counters!.item.Update!;
    expect(update.ConditionExpression).toBe("leaseOwner = :owner");
    expect(addsOf(update)).toEqual({ processed: 1, "counts.failed": 1, version: 1 });
    expect(update.UpdateExpression).toContain("list_append");
    expect(update.ExpressionAttributeValues![":error"]).toEqual([{ id: "c1", message: "boom" }]);
    expect(counters!.onConditionFailed!()).toBeInstanceOf(LeaseLostError);

    const [, bounded] = outcomeItems(
      tenant,
      jobId,
      "me",
      { kind: "customer", itemId: "c2", counter: "failed", error: { id: "c2", message: "boom" }, keepError: false },
      now,
    );
    expect(bounded!.item.Update!.UpdateExpression).not.toContain("list_append");
  });
});

describe("dispatch (processJobMessage)", () => {
  let tenant: string;
  let job: ReturnType<typeof aJob>;
  const leased = () => ({ ...job, status: "running", leaseOwner: "x", leaseUntil: Date.now() + 60_000 });

  beforeEach(() => {
    tenant = aTenant();
    job = aJob(tenant);
    ddbMock.on(GetCommand).resolves({ Item: job });
    ddbMock.on(UpdateCommand).resolves({ Attributes: leased() });
    ddbMock.on(TransactWriteCommand).resolves({});
  });

  const deps = (runner: JobRunner, continueJob = vi.fn(async () => undefined)) => ({
    runners: { handover: runner },
    continueJob,
  });

  it("hands the job to the runner of its type under a lease and marks it succeeded", async () => {
    const runner = vi.fn<JobRunner>(async () => "done");

    const result = await processJobMessage({ jobId: job.id, tenant }, context(), FIRST, deps(runner));

    expect(result).toBe("succeeded");
    expect(runner).toHaveBeenCalledTimes(1);
    const run = runner.mock.calls[0]![0];
    expect(run.tenant).toBe(tenant);
    expect(run.job.id).toBe(job.id);
    const [acquire, finish] = updates();
    expect(acquire!.ConditionExpression).toContain("leaseUntil < :nowMs");
    expect(finish!.ConditionExpression).toBe("leaseOwner = :owner");
    expect(finish!.ExpressionAttributeValues![":owner"]).toBe(acquire!.ExpressionAttributeValues![":owner"]);
    expect(setsOf(finish!)).toMatchObject({ status: "succeeded", percent: 100, total: 0 });
    expect(removesOf(finish!)).toEqual(["leaseOwner", "leaseUntil"]);
  });

  it("takes the lease until the invocation's deadline plus the margin", async () => {
    const before = Date.now();
    await processJobMessage(
      { jobId: job.id, tenant },
      context(30_000),
      FIRST,
      deps(async () => "done"),
    );
    const until = updates()[0]!.ExpressionAttributeValues![":until"] as number;
    expect(until).toBeGreaterThanOrEqual(before + 30_000 + LEASE_MARGIN_MS);
    expect(until).toBeLessThanOrEqual(Date.now() + 30_000 + LEASE_MARGIN_MS);
  });

  it("on a pause checkpoints, gives the lease up and only then sends the continuation", async () => {
    const order: string[] = [];
    ddbMock.on(UpdateCommand).callsFake((input: UpdateCommandInput) => {
      const expr = input.UpdateExpression ?? "";
      order.push(expr.includes("#percent") ? "checkpoint" : expr.includes("REMOVE leaseOwner") ? "release" : "acquire");
      return { Attributes: leased() };
    });
    const continueJob = vi.fn(async () => void order.push("continue"));
    const runner: JobRunner = async (run) => {
      await run.record({ kind: "customer", itemId: "c1", counter: "moved" });
      return "paused";
    };

    const result = await processJobMessage({ jobId: job.id, tenant }, context(), FIRST, deps(runner, continueJob));

    expect(result).toBe("paused");
    expect(order).toEqual(["acquire", "checkpoint", "release", "continue"]);
    expect(continueJob).toHaveBeenCalledWith({ jobId: job.id, tenant });
    const checkpoint = updates()[1]!;
    expect(setsOf(checkpoint)).toMatchObject({ percent: Math.floor(100 / 40) });
  });

  it("does nothing for a job that has finished (a duplicate or late message)", async () => {
    ddbMock.on(GetCommand).resolves({ Item: { ...job, status: "succeeded" } });
    const runner = vi.fn<JobRunner>(async () => "done");
    expect(await processJobMessage({ jobId: job.id, tenant }, context(), FIRST, deps(runner))).toBe("finished");
    expect(runner).not.toHaveBeenCalled();
    expect(updates()).toEqual([]);
  });

  it("does nothing while another delivery holds the lease", async () => {
    ddbMock.on(UpdateCommand).rejects(conditionFailed());
    const runner = vi.fn<JobRunner>(async () => "done");
    const continueJob = vi.fn(async () => undefined);
    const result = await processJobMessage({ jobId: job.id, tenant }, context(), FIRST, deps(runner, continueJob));
    expect(result).toBe("busy");
    expect(runner).not.toHaveBeenCalled();
    expect(continueJob).not.toHaveBeenCalled();
  });

  it("answers missing for a job that does not exist", async () => {
    ddbMock.on(GetCommand).resolves({});
    expect(
      await processJobMessage(
        { jobId: job.id, tenant },
        context(),
        FIRST,
        deps(async () => "done"),
      ),
    ).toBe("missing");
  });

  it("fails a job of a type no runner handles", async () => {
    ddbMock.on(GetCommand).resolves({ Item: { ...job, type: "teleport" } });
    const result = await processJobMessage(
      { jobId: job.id, tenant },
      context(),
      FIRST,
      deps(async () => "done"),
    );
    expect(result).toBe("failed");
    expect(setsOf(updates()[0]!)).toMatchObject({ status: "failed" });
  });

  it("gives the lease up when the runner throws and rethrows so the message is retried", async () => {
    const runner: JobRunner = async () => {
      throw new Error("dynamodb is down");
    };
    await expect(processJobMessage({ jobId: job.id, tenant }, context(), FIRST, deps(runner))).rejects.toThrow(
      "dynamodb is down",
    );
    const [, release] = updates();
    expect(removesOf(release!)).toEqual(["leaseOwner", "leaseUntil"]);
    expect(updates()).toHaveLength(2);
  });

  it("marks the job failed when its last delivery fails too", async () => {
    const runner: JobRunner = async () => {
      throw new Error("dynamodb is down");
    };
    await expect(processJobMessage({ jobId: job.id, tenant }, context(), LAST, deps(runner))).rejects.toThrow();
    const fail = updates()[2]!;
    expect(setsOf(fail)).toMatchObject({ status: "failed" });
    expect(String(setsOf(fail).failureReason)).not.toContain("dynamodb");
  });

  it("stops quietly when the lease was lost (another delivery carries the job on)", async () => {
    const runner: JobRunner = async () => {
      throw new LeaseLostError(job.id);
    };
    expect(await processJobMessage({ jobId: job.id, tenant }, context(), FIRST, deps(runner))).toBe("busy");
    expect(updates()).toHaveLength(1);
  });

  it("records an outcome once: a marker already there means the item was handled before", async () => {
    let run: JobRun | undefined;
    const outcomes: string[] = [];
    const runner: JobRunner = async (r) => {
      run = r;
      outcomes.push(await r.record({ kind: "customer", itemId: "c1", counter: "skipped" }));
      outcomes.push(await r.record({ kind: "customer", itemId: "c2", counter: "moved" }));
      return "done";
    };
    ddbMock
      .on(TransactWriteCommand)
      .resolvesOnce({})
      .callsFake((input: TransactWriteCommandInput) => cancelWhere(input, (i) => !!i.Put?.Item?.SK));

    await processJobMessage({ jobId: job.id, tenant }, context(), FIRST, deps(runner));

    expect(run).toBeDefined();
    expect(outcomes).toEqual(["recorded", "already"]);
    const finish = updates().at(-1)!;
    expect(setsOf(finish)).toMatchObject({ status: "succeeded", total: 1 });
  });

  it("passes the job's items to the item's own write, and lets the write's errors through", async () => {
    const seen: number[] = [];
    const runner: JobRunner = async (r) => {
      await r.record({ kind: "customer", itemId: "c1", counter: "moved" }, async (extras) => {
        seen.push(extras.length);
      });
      await r.record({ kind: "customer", itemId: "c2", counter: "moved" }, async () => {
        throw new Error("conflict");
      });
      return "done";
    };
    await expect(processJobMessage({ jobId: job.id, tenant }, context(), FIRST, deps(runner))).rejects.toThrow(
      "conflict",
    );
    expect(seen).toEqual([2]);
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });
});

describe("jobs worker", () => {
  const event = (body: string, id = "m1"): SQSEvent => ({ Records: [sqsRecord(body, { messageId: id })] });

  const lambda = { awsRequestId: "r", functionName: "f", getRemainingTimeInMillis: () => 60_000 } as Context;

  it("dispatches a message to the runner of its job's type", async () => {
    const tenant = aTenant();
    const job = aJob(tenant);
    ddbMock.on(GetCommand).resolves({ Item: job });
    ddbMock.on(UpdateCommand).resolves({ Attributes: { ...job, status: "running" } });
    const handover = vi.fn<JobRunner>(async () => "done");
    const handler = jobsWorker({ runners: { handover }, continueJob: async () => undefined });

    const out = await handler(event(JSON.stringify({ jobId: job.id, tenant })), lambda);

    expect(out).toEqual({ batchItemFailures: [] });
    expect(handover).toHaveBeenCalledTimes(1);
  });

  it("reports a message that is not a job message as failed (it ends in the DLQ)", async () => {
    const handler = jobsWorker({ runners: {}, continueJob: async () => undefined });
    const out = await handler(event(JSON.stringify({ jobId: "x", tenant: "t", extra: 1 }), "bad"), lambda);
    expect(out).toEqual({ batchItemFailures: [{ itemIdentifier: "bad" }] });
    expect(ddbMock.calls()).toHaveLength(0);
  });
});

describe("reading a job", () => {
  it("shows the job to its creator and to an admin, without keys or lease", async () => {
    const creator = aCaller({ userId: "u-sales", roles: ["sales"] });
    const job = aJob(creator.tenant, { createdBy: "u-sales", leaseOwner: "x", leaseUntil: 1 });
    ddbMock.on(BatchGetCommand).resolves({ Responses: {} });
    ddbMock.on(GetCommand).resolves({ Item: { ...job, entity: "job" } });

    const seen = await readJob(creator, job.id);
    expect(seen).toMatchObject({ id: job.id, status: "queued", total: 40 });
    for (const k of ["PK", "SK", "entity", "leaseOwner", "leaseUntil"]) expect(seen).not.toHaveProperty(k);

    const admin = aCaller({ tenant: creator.tenant, userId: "u-boss", roles: ["admin"] });
    expect((await readJob(admin, job.id)).id).toBe(job.id);
  });

  it("answers 404 to anyone else, for a missing job and for what is not a job id", async () => {
    const other = aCaller({ userId: "u-other", roles: ["manager"] });
    ddbMock.on(BatchGetCommand).resolves({ Responses: {} });
    ddbMock.on(GetCommand).resolves({ Item: aJob(other.tenant, { createdBy: "u-sales" }) });
    await expect(readJob(other, newId())).rejects.toBeInstanceOf(NotFoundError);

    ddbMock.on(GetCommand).resolves({});
    await expect(readJob(aCaller(), newId())).rejects.toBeInstanceOf(NotFoundError);

    ddbMock.reset();
    await expect(readJob(aCaller(), "../../etc")).rejects.toBeInstanceOf(NotFoundError);
    expect(ddbMock.calls()).toHaveLength(0);
  });
});
