// HTTP adapter for /v1/customers/{id}/interactions: parse, call one use case, shape the response.
// adapter --> (use case) --> domain & repositories
import { isId } from "../../shared/db/ids.ts";
import { httpApi, parse, type Request } from "../../shared/http/api.ts";
import { NotFoundError } from "../../shared/http/errors.ts";
import { json } from "../../shared/http/response.ts";
import { expectedVersion } from "../../shared/http/version.ts";
import { idempotencyFrom } from "../../shared/domain/idempotency/idempotency.ts";
import {
  InteractionCreateSchema,
  InteractionListQuerySchema,
  InteractionPatchSchema,
} from "../../shared/domain/interactions/schemas.ts";
import {
  createInteraction,
  getInteractionOf,
  listInteractions,
  patchInteraction,
} from "../../shared/domain/interactions/service.ts";
import { customerId } from "../../shared/http/params.ts";

function interactionId(req: Request): string {
  const id = req.params.interactionId;
  if (!isId(id)) throw new NotFoundError(`interaction ${id ?? ""} not found`);
  return id;
}

export const handler = httpApi({
  "POST /v1/customers/{id}/interactions": async (req) => {
    const cid = customerId(req);
    const raw = req.body();
    const input = parse(InteractionCreateSchema, raw);
    const idem = idempotencyFrom(req.caller.tenant, req.headers["idempotency-key"], `POST interactions ${cid}`, raw);
    const res = await createInteraction(req.caller, cid, input, idem, req.requestId);
    const body = res.body as { id: string; version: number };
    return json(res.status, body, {
      location: `/v1/customers/${cid}/interactions/${body.id}`,
      etag: `"${body.version}"`,
      ...(res.replayed ? { "idempotent-replayed": "true" } : {}),
    });
  },

  "GET /v1/customers/{id}/interactions": async (req) => {
    const q = parse(InteractionListQuerySchema, req.query, "query string");
    return json(200, await listInteractions(req.caller, customerId(req), q.limit, q.cursor));
  },

  "GET /v1/customers/{id}/interactions/{interactionId}": async (req) => {
    const i = await getInteractionOf(req.caller, customerId(req), interactionId(req));
    return json(200, i, { etag: `"${i.version}"` });
  },

  "PATCH /v1/customers/{id}/interactions/{interactionId}": async (req) => {
    const cid = customerId(req);
    const id = interactionId(req);
    const patch = parse(InteractionPatchSchema, req.body() ?? {});
    const version = expectedVersion(req.headers["if-match"], patch.version)!;
    const i = await patchInteraction(req.caller, cid, id, patch, version, req.requestId);
    return json(200, i, { etag: `"${i.version}"` });
  },
});
