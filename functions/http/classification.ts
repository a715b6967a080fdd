// HTTP adapter for classification: schemes, preview, apply, distribution, value model and pyramid, and a customer's
// categories at a point in time.
// adapter --> (use case) --> domain & repositories
import * as z from "zod";
import {
  HistoryQuerySchema,
  PreviewInputSchema,
  SchemeIdSchema,
  SchemeInputSchema,
  SchemeQuerySchema,
} from "../../shared/domain/classification/schemas.ts";
import {
  applyScheme,
  categoriesAt,
  createScheme,
  distribution,
  getScheme,
  getValueModel,
  listSchemes,
  previewScheme,
  putScheme,
  putValueModel,
  valuePyramid,
} from "../../shared/domain/classification/service.ts";
import { ValueModelSchema } from "../../shared/domain/classification/value.ts";
import { httpApi, parse, type Request } from "../../shared/http/api.ts";
import { idempotencyOf } from "../../shared/http/idempotency.ts";
import { NotFoundError } from "../../shared/http/errors.ts";
import { json } from "../../shared/http/response.ts";
import { expectedVersion } from "../../shared/http/version.ts";
import { customerId } from "../../shared/http/params.ts";

function schemeId(req: Request): string {
  const r = SchemeIdSchema.safeParse(req.params.id);
  if (!r.success) throw new NotFoundError(`scheme ${req.params.id ?? ""} not found`);
  return r.data;
}

const CreateBodySchema = z.looseObject({ id: SchemeIdSchema });

export const handler = httpApi({
  "GET /v1/classification/schemes": async (req) => json(200, await listSchemes(req.caller)),

  "POST /v1/classification/schemes": async (req) => {
    const raw = req.body();
    const { id, ...rest } = parse(CreateBodySchema, raw);
    const input = parse(SchemeInputSchema, rest);
    const s = await createScheme(req.caller, id, input, req.requestId);
    return json(201, s, { location: `/v1/classification/schemes/${s.id}`, etag: `"${s.version}"` });
  },

  "GET /v1/classification/schemes/{id}": async (req) => {
    const q = parse(SchemeQuerySchema, req.query, "query string");
    const s = await getScheme(req.caller, schemeId(req), q.version);
    return json(200, s, { etag: `"${s.version}"` });
  },

  "PUT /v1/classification/schemes/{id}": async (req) => {
    const id = schemeId(req);
    const input = parse(SchemeInputSchema, req.body());
    const version = expectedVersion(req.headers["if-match"], input.version)!;
    const s = await putScheme(req.caller, id, input, version, req.requestId);
    return json(200, s, { etag: `"${s.version}"` });
  },

  "POST /v1/classification/schemes/{id}/preview": async (req) => {
    const id = schemeId(req);
    const input = parse(PreviewInputSchema, req.body() ?? {});
    return json(200, await previewScheme(req.caller, id, input));
  },

  "POST /v1/classification/schemes/{id}/apply": async (req) => {
    const { jobId } = await applyScheme(req.caller, schemeId(req), req.requestId, undefined, idempotencyOf(req));
    return json(202, { jobId }, { location: `/v1/jobs/${jobId}` });
  },

  "GET /v1/classification/schemes/{id}/distribution": async (req) =>
    json(200, await distribution(req.caller, schemeId(req))),

  "GET /v1/classification/value-model": async (req) => json(200, await getValueModel(req.caller)),

  "PUT /v1/classification/value-model": async (req) =>
    json(200, await putValueModel(req.caller, parse(ValueModelSchema, req.body()), req.requestId)),

  "GET /v1/classification/pyramid": async (req) => json(200, await valuePyramid(req.caller)),

  "GET /v1/customers/{id}/categories": async (req) => {
    const q = parse(HistoryQuerySchema, req.query, "query string");
    return json(200, await categoriesAt(req.caller, customerId(req), q.at));
  },
});
