// HTTP adapter for /v1/settings: the tenant's customer code pattern and time zone (admins change them).
// adapter --> (use case) --> domain & repositories
import { httpApi, parse } from "../../shared/http/api.ts";
import { requireAdmin, resolveViewer } from "../../shared/domain/org/viewer.ts";
import { json } from "../../shared/http/response.ts";
import { expectedVersion } from "../../shared/http/version.ts";
import { getSettings, putSettings, SettingsPutSchema } from "../../shared/domain/settings/settings.ts";

export const handler = httpApi({
  "GET /v1/settings": async (req) => json(200, await getSettings(req.caller.tenant)),

  "PUT /v1/settings": async (req) => {
    requireAdmin(await resolveViewer(req.caller));
    const body = parse(SettingsPutSchema, req.body() ?? {});
    const version = expectedVersion(req.headers["if-match"], body.version)!;
    const { version: _v, ...s } = body;
    return json(200, await putSettings(req.caller.tenant, req.caller.userId, s, version, req.requestId));
  },
});
