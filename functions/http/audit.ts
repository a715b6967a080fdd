// HTTP adapter for /v1/audit: the change history of a record or of a user, and the check of the tenant's hash chains.
// adapter --> (use case) --> domain & repositories
import { httpApi, parse } from "../../shared/http/api.ts";
import { ValidationError } from "../../shared/http/errors.ts";
import { json } from "../../shared/http/response.ts";
import { queryAudit } from "../../shared/domain/audit/audit.ts";
import { AuditQuerySchema, AuditVerifyQuerySchema } from "../../shared/domain/audit/query.ts";
import { verifyAuditChain } from "../../shared/domain/audit/verify.ts";
import { scopeAuditEntries } from "../../shared/domain/org/audit-scope.ts";
import { requireAdmin, resolveViewer } from "../../shared/domain/org/viewer.ts";

export const handler = httpApi({
  "GET /v1/audit": async (req) => {
    const q = parse(AuditQuerySchema, req.query, "query string");
    if (!q.entityId && !q.userId) {
      throw new ValidationError("query string is invalid", [
        { path: "entityId", message: "give entityId or userId (or both)" },
      ]);
    }
    const norm = (t?: string) => (t ? new Date(t).toISOString() : undefined);
    const [v, page] = await Promise.all([
      resolveViewer(req.caller),
      queryAudit(req.caller.tenant, { ...q, from: norm(q.from), to: norm(q.to) }),
    ]);
    // The history of a record follows the record's scope and masking.
    return json(200, { ...page, items: await scopeAuditEntries(v, page.items) });
  },

  // Reads the tenant's whole audit log: for admins and scheduled checks only.
  "GET /v1/audit/verify": async (req) => {
    requireAdmin(await resolveViewer(req.caller));
    parse(AuditVerifyQuerySchema, req.query, "query string");
    return json(200, await verifyAuditChain(req.caller.tenant));
  },
});
