// HTTP adapter for /v1/customers/{id}/contacts: parse, call one use case, shape the response.
// adapter --> (use case) --> domain & repositories
import { isId } from "../../shared/db/ids.ts";
import { httpApi, parse, type Request } from "../../shared/http/api.ts";
import { NotFoundError } from "../../shared/http/errors.ts";
import { json } from "../../shared/http/response.ts";
import { expectedVersion, versionFromIfMatch } from "../../shared/http/version.ts";
import {
  createContact,
  deleteContact,
  getContactOf,
  listContacts,
  patchContact,
} from "../../shared/domain/contacts/service.ts";
import {
  ContactCreateSchema,
  ContactListQuerySchema,
  ContactPatchSchema,
} from "../../shared/domain/contacts/schemas.ts";
import { idempotencyFrom } from "../../shared/domain/idempotency/idempotency.ts";
import { customerId } from "../../shared/http/params.ts";

function contactId(req: Request): string {
  const id = req.params.contactId;
  if (!isId(id)) throw new NotFoundError(`contact ${id ?? ""} not found`);
  return id;
}

export const handler = httpApi({
  "POST /v1/customers/{id}/contacts": async (req) => {
    const cid = customerId(req);
    const raw = req.body();
    const input = parse(ContactCreateSchema, raw);
    const idem = idempotencyFrom(req.caller.tenant, req.headers["idempotency-key"], `POST contacts ${cid}`, raw);
    const res = await createContact(req.caller, cid, input, idem, req.requestId);
    const body = res.body as { id: string; version: number };
    return json(res.status, body, {
      location: `/v1/customers/${cid}/contacts/${body.id}`,
      etag: `"${body.version}"`,
      ...(res.replayed ? { "idempotent-replayed": "true" } : {}),
    });
  },

  "GET /v1/customers/{id}/contacts": async (req) => {
    const q = parse(ContactListQuerySchema, req.query, "query string");
    return json(200, await listContacts(req.caller, customerId(req), q.limit, q.cursor));
  },

  "GET /v1/customers/{id}/contacts/{contactId}": async (req) => {
    const c = await getContactOf(req.caller, customerId(req), contactId(req));
    return json(200, c, { etag: `"${c.version}"` });
  },

  "PATCH /v1/customers/{id}/contacts/{contactId}": async (req) => {
    const cid = customerId(req);
    const id = contactId(req);
    const patch = parse(ContactPatchSchema, req.body() ?? {});
    const version = expectedVersion(req.headers["if-match"], patch.version)!;
    const c = await patchContact(req.caller, cid, id, patch, version, req.requestId);
    return json(200, c, { etag: `"${c.version}"` });
  },

  "DELETE /v1/customers/{id}/contacts/{contactId}": async (req) => {
    await deleteContact(
      req.caller,
      customerId(req),
      contactId(req),
      versionFromIfMatch(req.headers["if-match"]),
      req.requestId,
    );
    return { statusCode: 204 };
  },
});
