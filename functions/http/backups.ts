// HTTP adapter for /v1/backups: on-demand backup, the list with manifests, one backup, and restore (drill/replace).
// adapter --> (use case) --> domain & repositories
import { isId } from "../../shared/db/ids.ts";
import { listBackups, readBackup, requestBackup } from "../../shared/domain/backups/backup.ts";
import { requestRestore } from "../../shared/domain/backups/restore.ts";
import {
  BackupCreateSchema,
  BackupListQuerySchema,
  RestoreRequestSchema,
} from "../../shared/domain/backups/schemas.ts";
import { httpApi, parse, type Request } from "../../shared/http/api.ts";
import { idempotencyOf } from "../../shared/http/idempotency.ts";
import { NotFoundError } from "../../shared/http/errors.ts";
import { json } from "../../shared/http/response.ts";

/** The {id} path parameter; anything not shaped like our ids cannot exist, so it is a 404. */
function backupId(req: Request): string {
  const id = req.params.id;
  if (!isId(id)) throw new NotFoundError(`backup ${id ?? ""} not found`);
  return id;
}

export const handler = httpApi({
  "POST /v1/backups": async (req) => {
    parse(BackupCreateSchema, req.body());
    const res = await requestBackup(req.caller, req.requestId, undefined, idempotencyOf(req));
    return json(202, res, { location: `/v1/jobs/${res.jobId}` });
  },

  "GET /v1/backups": async (req) => {
    const q = parse(BackupListQuerySchema, req.query, "query string");
    return json(200, await listBackups(req.caller, q.limit));
  },

  "GET /v1/backups/{id}": async (req) => json(200, await readBackup(req.caller, backupId(req))),

  "POST /v1/backups/{id}/restore": async (req) => {
    const id = backupId(req);
    const body = parse(RestoreRequestSchema, req.body() ?? {});
    const res = await requestRestore(req.caller, id, body, req.requestId, undefined, idempotencyOf(req));
    return json(202, res, { location: `/v1/jobs/${res.jobId}` });
  },
});
