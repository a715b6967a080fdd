// HTTP adapter for /v1/reminder-rules: parse, call one use case, shape the response.
// adapter --> (use case) --> domain & repositories
import { httpApi, parse } from "../../shared/http/api.ts";
import { idempotencyOf } from "../../shared/http/idempotency.ts";
import { json } from "../../shared/http/response.ts";
import { expectedVersion, versionFromIfMatch } from "../../shared/http/version.ts";
import { idempotencyFrom } from "../../shared/domain/idempotency/idempotency.ts";
import { startReminderBackfill } from "../../shared/domain/reminders/backfill.ts";
import { ReminderRuleInputSchema } from "../../shared/domain/reminders/schemas.ts";
import { createRule, deleteRule, readRule, readRules, replaceRule } from "../../shared/domain/reminders/service.ts";

export const handler = httpApi({
  "POST /v1/reminder-rules": async (req) => {
    const raw = req.body();
    const input = parse(ReminderRuleInputSchema, raw);
    const idem = idempotencyFrom(req.caller.tenant, req.headers["idempotency-key"], "POST /v1/reminder-rules", raw);
    const res = await createRule(req.caller, input, idem, req.requestId);
    const body = res.body as { id: string; version: number };
    return json(res.status, body, {
      location: `/v1/reminder-rules/${body.id}`,
      etag: `"${body.version}"`,
      ...(res.replayed ? { "idempotent-replayed": "true" } : {}),
    });
  },

  "GET /v1/reminder-rules": async (req) => json(200, await readRules(req.caller)),

  "GET /v1/reminder-rules/{id}": async (req) => {
    const r = await readRule(req.caller, req.params.id ?? "");
    return json(200, r, { etag: `"${r.version}"` });
  },

  "PUT /v1/reminder-rules/{id}": async (req) => {
    const input = parse(ReminderRuleInputSchema, req.body() ?? {});
    const version = expectedVersion(req.headers["if-match"], input.version)!;
    const r = await replaceRule(req.caller, req.params.id ?? "", input, version, req.requestId);
    return json(200, r, { etag: `"${r.version}"` });
  },

  "POST /v1/reminder-rules/backfill": async (req) => {
    const { jobId } = await startReminderBackfill(req.caller, req.requestId, undefined, idempotencyOf(req));
    return json(202, { jobId }, { location: `/v1/jobs/${jobId}` });
  },

  "DELETE /v1/reminder-rules/{id}": async (req) => {
    await deleteRule(req.caller, req.params.id ?? "", versionFromIfMatch(req.headers["if-match"]), req.requestId);
    return { statusCode: 204 };
  },
});
