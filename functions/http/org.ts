// HTTP adapter for the organisation: /v1/departments and /v1/users/{id}.
// adapter --> (use case) --> domain & repositories
import { PrincipalIdSchema } from "../../shared/domain/customers/schemas.ts";
import { HandoverSchema, startHandover } from "../../shared/domain/org/handover.ts";
import {
  DepartmentCreateSchema,
  DepartmentPatchSchema,
  DeptIdSchema,
  UserPutSchema,
} from "../../shared/domain/org/schemas.ts";
import {
  createDepartment,
  departmentTree,
  getUser,
  putUser,
  renameDepartment,
} from "../../shared/domain/org/service.ts";
import { httpApi, parse, type Request } from "../../shared/http/api.ts";
import { idempotencyOf } from "../../shared/http/idempotency.ts";
import { NotFoundError } from "../../shared/http/errors.ts";
import { json } from "../../shared/http/response.ts";
import { expectedVersion } from "../../shared/http/version.ts";

function param(req: Request, name: string, schema: typeof PrincipalIdSchema | typeof DeptIdSchema): string {
  const r = schema.safeParse(req.params[name]);
  if (!r.success) throw new NotFoundError(`${name} ${req.params[name] ?? ""} not found`);
  return r.data;
}

export const handler = httpApi({
  "GET /v1/departments": async (req) => json(200, await departmentTree(req.caller)),

  "POST /v1/departments": async (req) => {
    const body = parse(DepartmentCreateSchema, req.body());
    const d = await createDepartment(req.caller, body, req.requestId);
    return json(201, d, { location: `/v1/departments/${d.id}`, etag: `"${d.version}"` });
  },

  "PATCH /v1/departments/{id}": async (req) => {
    const id = param(req, "id", DeptIdSchema);
    const body = parse(DepartmentPatchSchema, req.body() ?? {});
    const version = expectedVersion(req.headers["if-match"], body.version)!;
    return json(200, await renameDepartment(req.caller, id, body.name, version, req.requestId));
  },

  "GET /v1/users/{id}": async (req) => json(200, await getUser(req.caller, param(req, "id", PrincipalIdSchema))),

  "PUT /v1/users/{id}": async (req) => {
    const id = param(req, "id", PrincipalIdSchema);
    const body = parse(UserPutSchema, req.body() ?? {});
    const version = expectedVersion(req.headers["if-match"], body.version)!;
    const { version: _v, ...input } = body;
    return json(200, await putUser(req.caller, id, input, version, req.requestId));
  },

  "POST /v1/users/{id}/handover": async (req) => {
    const from = param(req, "id", PrincipalIdSchema);
    const body = parse(HandoverSchema, req.body() ?? {});
    const { jobId } = await startHandover(req.caller, from, body, req.requestId, undefined, idempotencyOf(req));
    return json(202, { jobId }, { location: `/v1/jobs/${jobId}` });
  },
});
