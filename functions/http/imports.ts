// HTTP adapter for imports: start one (a presigned upload URL), list them, read one (progress, counts, error report
// link), and download an entity's template.
// adapter --> (use case) --> domain & repositories
import { importTemplate, listImports, readImport, startImport } from "../../shared/domain/imports/service.ts";
import { ImportStartSchema, ListQuerySchema, TemplateQuerySchema } from "../../shared/domain/imports/schemas.ts";
import { httpApi, parse } from "../../shared/http/api.ts";
import { idempotencyOf } from "../../shared/http/idempotency.ts";
import { json } from "../../shared/http/response.ts";

export const handler = httpApi({
  "POST /v1/imports": async (req) => {
    const input = parse(ImportStartSchema, req.body() ?? {});
    const started = await startImport(req.caller, input, req.requestId, undefined, idempotencyOf(req));
    return json(201, started, { location: `/v1/imports/${started.id}` });
  },
  "GET /v1/imports": async (req) =>
    json(200, await listImports(req.caller, parse(ListQuerySchema, req.query, "query"))),
  "GET /v1/imports/{id}": async (req) => json(200, await readImport(req.caller, req.params.id ?? "")),
  "GET /v1/imports/templates/{entity}": async (req) => {
    const { format } = parse(TemplateQuerySchema, req.query, "query");
    const t = await importTemplate(req.params.entity ?? "", format);
    const headers = { "content-type": t.contentType, "content-disposition": `attachment; filename="${t.fileName}"` };
    return typeof t.body === "string"
      ? { statusCode: 200, headers, body: t.body }
      : { statusCode: 200, headers, body: t.body.toString("base64"), isBase64Encoded: true };
  },
});
