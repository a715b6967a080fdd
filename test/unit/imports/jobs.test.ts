// Unit tests against a mocked DynamoDB for what imports add to the jobs facility: a runner that fails the job with a
// reason (a bad file), a runner that keeps its own counters (a chunk's checkpoint), and an S3 object event delivered
// twice.
import {
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { newId } from "../../../shared/db/ids.ts";
import { importKeys } from "../../../shared/domain/imports/keys.ts";
import { importObjectCreated } from "../../../shared/domain/imports/service.ts";
import { jobKeys } from "../../../shared/domain/jobs/keys.ts";
import { JobFailedError, type JobRunner, processJobMessage } from "../../../shared/domain/jobs/runner.ts";
import type { JobItem } from "../../../shared/domain/jobs/schemas.ts";
import { aTenant, cancelWhere, pkOf } from "../domain/support/builders.ts";
import { setsOf } from "../domain/support/expressions.ts";

const ddbMock = mockClient(DynamoDBDocumentClient);
beforeEach(() => ddbMock.reset());

const updates = (): UpdateCommandInput[] => ddbMock.commandCalls(UpdateCommand).map((c) => c.args[0].input);
const context = () => ({ getRemainingTimeInMillis: () => 60_000 });
const FIRST = { receiveCount: 1, maxReceiveCount: 5 };

function anImportJob(tenant: string): JobItem & { PK: string; SK: string } {
  const id = newId();
  return {
    PK: jobKeys.pk(tenant, id),
    SK: jobKeys.jobSk(),
    id,
    type: "import",
    status: "queued",
    processed: 0,
    total: 0,
    percent: 0,
    counts: { inserted: 0, updated: 0, skipped: 0, failed: 0 },
    errors: [],
    params: {},
    createdBy: "u-admin",
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
    version: 1,
  };
}

describe("jobs that imports run", () => {
  let tenant: string;
  let job: ReturnType<typeof anImportJob>;
  beforeEach(() => {
    tenant = aTenant();
    job = anImportJob(tenant);
    ddbMock.on(GetCommand).resolves({ Item: job });
    ddbMock
      .on(UpdateCommand)
      .resolves({ Attributes: { ...job, status: "running", leaseOwner: "x", leaseUntil: Date.now() + 60_000 } });
  });
  const deps = (runner: JobRunner) => ({ runners: { import: runner }, continueJob: vi.fn(async () => undefined) });

  it("fails the job with the runner's reason, at once, without a retry", async () => {
    const runner: JobRunner = async () => {
      throw new JobFailedError("the file is empty");
    };
    expect(await processJobMessage({ jobId: job.id, tenant }, context(), FIRST, deps(runner))).toBe("failed");
    const fail = updates()[1]!;
    expect(setsOf(fail)).toMatchObject({ status: "failed", failureReason: "the file is empty" });
    expect(fail.ConditionExpression).toContain("#status IN (:queued, :running)");
  });

  it("finishes with the total a runner that keeps its own counters reported", async () => {
    const runner: JobRunner = async (run) => {
      run.setProgress?.({ processed: 1234, counts: { inserted: 1200, failed: 34 }, total: 1300 });
      return "done";
    };
    expect(await processJobMessage({ jobId: job.id, tenant }, context(), FIRST, deps(runner))).toBe("succeeded");
    expect(setsOf(updates()[1]!)).toMatchObject({ status: "succeeded", percent: 100, total: 1234 });
  });
});

describe("an S3 object event", () => {
  const o = (tenant: string) => ({
    bucket: "uploads",
    key: `imports/${tenant}/a.csv`,
    size: 10,
    etag: "e1",
    sequencer: "0A1",
  });

  it("starts one job: the object's guard goes into the job's own transaction", async () => {
    const tenant = aTenant();
    ddbMock.on(TransactWriteCommand).resolves({});
    ddbMock.on(GetCommand).resolves({}); // the audit chain's head: a new tenant has none yet
    const send = vi.fn(async () => undefined);
    const res = await importObjectCreated(o(tenant), send);
    expect(res).toMatchObject({ outcome: "started" });
    const items = ddbMock.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems!;
    const guard = items.find((i) => pkOf(i).startsWith(importKeys.objectGuardPk(tenant, "")))!;
    expect(guard.Put?.ConditionExpression).toBe("attribute_not_exists(PK)");
    expect(items.some((i) => pkOf(i) === jobKeys.pk(tenant, (res as { jobId: string }).jobId))).toBe(true);
    expect(send).toHaveBeenCalledWith({ jobId: (res as { jobId: string }).jobId, tenant });
  });

  it("delivered again finds the job the first delivery started and only sends its message again", async () => {
    const tenant = aTenant();
    const first = newId();
    ddbMock
      .on(TransactWriteCommand)
      .callsFake((input) => cancelWhere(input, (i) => pkOf(i).startsWith(importKeys.objectGuardPk(tenant, ""))));
    ddbMock.on(GetCommand).resolves({ Item: { jobId: first } });
    const send = vi.fn(async () => undefined);
    expect(await importObjectCreated(o(tenant), send)).toEqual({ jobId: first, outcome: "repeated" });
    expect(send).toHaveBeenCalledWith({ jobId: first, tenant });
  });
});
