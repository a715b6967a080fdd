// HTTP adapter for exports: start one (202; a background job), list them, read one (status and download link).
// adapter --> (use case) --> domain & repositories
import { listExports, readExport, startExport } from "../../shared/domain/exports/service.ts";
import { ExportStartSchema, ListQuerySchema } from "../../shared/domain/imports/schemas.ts";
import { httpApi, parse } from "../../shared/http/api.ts";
import { idempotencyOf } from "../../shared/http/idempotency.ts";
import { json } from "../../shared/http/response.ts";

export const handler = httpApi({
  "POST /v1/exports": async (req) => {
    const input = parse(ExportStartSchema, req.body() ?? {});
    const started = await startExport(req.caller, input, req.requestId, undefined, idempotencyOf(req));
    return json(202, started, { location: `/v1/exports/${started.id as string}` });
  },
  "GET /v1/exports": async (req) =>
    json(200, await listExports(req.caller, parse(ListQuerySchema, req.query, "query"))),
  "GET /v1/exports/{id}": async (req) => json(200, await readExport(req.caller, req.params.id ?? "")),
});
