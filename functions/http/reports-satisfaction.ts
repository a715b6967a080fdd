// HTTP adapter for GET /v1/reports/satisfaction: parse, call one use case, shape the response.
// adapter --> (use case) --> domain & repositories
import { httpApi, parse } from "../../shared/http/api.ts";
import { json } from "../../shared/http/response.ts";
import { SatisfactionQuerySchema, satisfactionReport } from "../../shared/domain/reports/satisfaction.ts";

export const handler = httpApi({
  "GET /v1/reports/satisfaction": async (req) => {
    const q = parse(SatisfactionQuerySchema, req.query, "query string");
    return json(200, await satisfactionReport(req.caller, q));
  },
});
