// HTTP adapter for /v1/notifications (the caller's own inbox): parse, call one use case, shape the response.
// adapter --> (use case) --> domain & repositories
import { httpApi, parse } from "../../shared/http/api.ts";
import { json } from "../../shared/http/response.ts";
import { NotificationListQuerySchema, NotificationPatchSchema } from "../../shared/domain/reminders/schemas.ts";
import { listNotifications, markRead } from "../../shared/domain/reminders/service.ts";

export const handler = httpApi({
  "GET /v1/notifications": async (req) =>
    json(200, await listNotifications(req.caller, parse(NotificationListQuerySchema, req.query, "query string"))),

  "PATCH /v1/notifications/{id}": async (req) => {
    const body = parse(NotificationPatchSchema, req.body() ?? {});
    return json(200, await markRead(req.caller, req.params.id ?? "", body.read));
  },
});
