// HTTP adapter for batch updates: POST /v1/batch-updates starts a job (202); GET /v1/jobs/{id} shows its progress.
// adapter --> (use case) --> domain & repositories
import { BatchUpdateSchema, startBatchUpdate } from "../../shared/domain/exports/batch-update.ts";
import { httpApi, parse } from "../../shared/http/api.ts";
import { idempotencyOf } from "../../shared/http/idempotency.ts";
import { json } from "../../shared/http/response.ts";

export const handler = httpApi({
  "POST /v1/batch-updates": async (req) => {
    const input = parse(BatchUpdateSchema, req.body() ?? {});
    const started = await startBatchUpdate(req.caller, input, req.requestId, undefined, idempotencyOf(req));
    return json(202, started, { location: `/v1/jobs/${started.jobId}` });
  },
});
