// HTTP adapter for /v1/tasks: parse, call one use case, shape the response.
// adapter --> (use case) --> domain & repositories
import { httpApi, parse } from "../../shared/http/api.ts";
import { json } from "../../shared/http/response.ts";
import { expectedVersion } from "../../shared/http/version.ts";
import { idempotencyFrom } from "../../shared/domain/idempotency/idempotency.ts";
import { TaskCreateSchema, TaskListQuerySchema, TaskPatchSchema } from "../../shared/domain/tasks/schemas.ts";
import { createTask, getTask, listTasks, patchTask } from "../../shared/domain/tasks/service.ts";

export const handler = httpApi({
  "POST /v1/tasks": async (req) => {
    const raw = req.body();
    const input = parse(TaskCreateSchema, raw);
    const idem = idempotencyFrom(req.caller.tenant, req.headers["idempotency-key"], "POST /v1/tasks", raw);
    const res = await createTask(req.caller, input, idem, req.requestId);
    const body = res.body as { id: string; version: number };
    return json(res.status, body, {
      location: `/v1/tasks/${body.id}`,
      etag: `"${body.version}"`,
      ...(res.replayed ? { "idempotent-replayed": "true" } : {}),
    });
  },

  "GET /v1/tasks": async (req) =>
    json(200, await listTasks(req.caller, parse(TaskListQuerySchema, req.query, "query string"))),

  "GET /v1/tasks/{id}": async (req) => {
    const t = await getTask(req.caller, req.params.id ?? "");
    return json(200, t, { etag: `"${t.version}"` });
  },

  "PATCH /v1/tasks/{id}": async (req) => {
    const patch = parse(TaskPatchSchema, req.body() ?? {});
    const version = expectedVersion(req.headers["if-match"], patch.version)!;
    const t = await patchTask(req.caller, req.params.id ?? "", patch, version, req.requestId);
    return json(200, t, { etag: `"${t.version}"` });
  },
});
