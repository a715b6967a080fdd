// Export use cases: start one (a job on the jobs queue; 202), read one (status and a download link once done), list.
// adapter --> (use case) --> domain & repositories
import type { Caller } from "../../auth/claims.ts";
import { type IdempotencyContext, once } from "../idempotency/idempotency.ts";
import { toJob } from "../jobs/repository.ts";
import type { JobItem } from "../jobs/schemas.ts";
import { queueOrFail, type SendJobMessage, sendToJobsQueue } from "../jobs/service.ts";
import { resolveViewer } from "../org/viewer.ts";
import type { ExportStart } from "../imports/schemas.ts";
import { createListedJob, listListedJobs, readListedJob } from "../imports/service.ts";
import { downloadUrl } from "../imports/storage.ts";
import type { ExportState } from "./runner.ts";

/** Starts an export of what the caller may see (any role that reads); the file is written by the jobs worker. */
export async function startExport(
  caller: Caller,
  input: ExportStart,
  requestId?: string,
  send: SendJobMessage = sendToJobsQueue,
  idem?: IdempotencyContext,
): Promise<Record<string, unknown>> {
  await resolveViewer(caller);
  // With an Idempotency-Key a repeat gets the export the first request started, as it was answered then.
  const result = await once(idem, async (record) => {
    let started: Record<string, unknown> = {};
    const job = await createListedJob(caller, "export", { ...input }, requestId, async (job) => {
      started = await presentExport(job as JobItem);
      const kept = record({ status: 202, body: started });
      return kept ? [kept] : [];
    });
    await queueOrFail(caller.tenant, job.id, send, "export");
    return { status: 202, body: started };
  });
  return result.body as Record<string, unknown>;
}

export async function presentExport(item: JobItem) {
  const state = (item as { state?: ExportState }).state;
  const job = toJob(item);
  const { caller: _c, ...params } = job.params as Record<string, unknown>;
  const out: Record<string, unknown> = { ...job, params };
  if (job.status === "succeeded" && state?.fileKey) {
    const ext = state.fileKey.slice(state.fileKey.lastIndexOf(".") + 1);
    const entity = typeof params.entity === "string" ? params.entity : "customers";
    out.downloadUrl = await downloadUrl(state.fileKey, `${entity}-${item.id}.${ext}`);
  }
  return out;
}

export async function readExport(caller: Caller, id: string) {
  return presentExport(await readListedJob(caller, id, "export"));
}

export async function listExports(caller: Caller, q: { limit: number; cursor?: string | undefined }) {
  const page = await listListedJobs(caller, "export", q);
  return { items: await Promise.all(page.items.map((i) => presentExport(i))), nextCursor: page.nextCursor };
}
