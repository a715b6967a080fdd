// HTTP adapter for background jobs: GET /v1/jobs/{id} (progress, counts, errors) for the job's creator or an admin.
// adapter --> (use case) --> domain & repositories
import { readJob } from "../../shared/domain/jobs/service.ts";
import { httpApi } from "../../shared/http/api.ts";
import { json } from "../../shared/http/response.ts";

export const handler = httpApi({
  "GET /v1/jobs/{id}": async (req) => json(200, await readJob(req.caller, req.params.id ?? "")),
});
