// An import started over the API whose file never comes: it fails with "file was never uploaded" once its upload link
// has expired (plus the grace), through the delayed message on the imports queue; an import whose file came is left
// alone. The link lives 2 s and the grace 1 s here (set before the environment is parsed), so the deadline passes
// within the test. The imports worker handler is called directly with the messages it would receive.
import type { Context } from "aws-lambda";
import { describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.IMPORT_UPLOAD_TTL_SECONDS = "2";
  process.env.IMPORT_UPLOAD_GRACE_SECONDS = "1";
});

import { importsWorker } from "../../functions/workers/imports-worker.ts";
import type { UploadDeadlineMessage } from "../../shared/domain/imports/schemas.ts";
import { importObjectCreated, NEVER_UPLOADED, readImport, startImport } from "../../shared/domain/imports/service.ts";
import { objectKeys } from "../../shared/domain/imports/storage.ts";
import { getJobItem } from "../../shared/domain/jobs/repository.ts";
import { aCaller } from "../support/builders.ts";
import { sqsEvent } from "../support/job-events.ts";

const queueEvent = (msg: unknown) => sqsEvent(msg, 1, undefined, "imports");
const context = { awsRequestId: "req-dl", getRemainingTimeInMillis: () => 30_000 } as Context;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const input = { entity: "customers", mode: "upsert", matchOn: "code", dryRun: false } as const;

/** Starts an import over the use case, keeping the deadline messages it sends (with their delays). */
async function started() {
  const caller = aCaller();
  const sent: { msg: UploadDeadlineMessage; delay: number }[] = [];
  const send = async (msg: UploadDeadlineMessage, delay: number) => void sent.push({ msg, delay });
  const out = await startImport(caller, input, "req-dl", send);
  const worker = importsWorker({ sendDeadline: send });
  return { caller, out, sent, worker };
}

describe("an import whose file never comes", () => {
  it("fails with 'file was never uploaded' once the link has expired; an early check only waits again", async () => {
    const { caller, out, sent, worker } = await started();
    // Prepare: the start scheduled one check, due after the link's 2 s plus the 1 s grace.
    expect(sent).toHaveLength(1);
    expect(sent[0]!.msg).toEqual({ kind: "upload-deadline", tenant: caller.tenant, jobId: out.id });
    expect(sent[0]!.delay).toBe(3);

    // Act: the message delivered early (SQS caps delays at 15 minutes, so a long deadline takes several).
    expect(await worker(queueEvent(sent[0]!.msg), context)).toEqual({ batchItemFailures: [] });
    // Assess: still waiting for its file, and checked again later.
    expect((await readImport(caller, out.id)).status).toBe("queued");
    expect(sent).toHaveLength(2);
    expect(sent[1]!.delay).toBeGreaterThanOrEqual(1);

    await sleep(3_200);
    expect(await worker(queueEvent(sent[1]!.msg), context)).toEqual({ batchItemFailures: [] });
    const view = await readImport(caller, out.id);
    expect(view).toMatchObject({ status: "failed", failureReason: NEVER_UPLOADED, awaitingUpload: false });
    expect(sent).toHaveLength(2);

    // A duplicate of the message changes nothing more.
    const version = (await getJobItem(caller.tenant, out.id))!.version;
    expect(await worker(queueEvent(sent[1]!.msg), context)).toEqual({ batchItemFailures: [] });
    expect((await getJobItem(caller.tenant, out.id))!.version).toBe(version);
  });

  it("leaves an import whose file came alone, even after the deadline", async () => {
    const { caller, out, sent, worker } = await started();
    const jobs: unknown[] = [];
    await importObjectCreated(
      {
        bucket: "uploads",
        key: objectKeys.upload(caller.tenant, out.id),
        size: 10,
        etag: "e-1",
        sequencer: "01",
      },
      async (m) => void jobs.push(m),
    );
    expect(jobs).toEqual([{ jobId: out.id, tenant: caller.tenant }]);

    await sleep(3_200);
    expect(await worker(queueEvent(sent[0]!.msg), context)).toEqual({ batchItemFailures: [] });
    const job = (await getJobItem(caller.tenant, out.id))!;
    expect(job.status).toBe("queued"); // the jobs worker (not run here) takes it from there
    expect(job.failureReason).toBeUndefined();
    expect(sent).toHaveLength(1);
  });
});
