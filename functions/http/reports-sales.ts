// HTTP adapter for the sales reports: parse the query, call one use case.
// adapter --> (use case) --> domain & repositories
import { httpApi, parse } from "../../shared/http/api.ts";
import { json } from "../../shared/http/response.ts";
import {
  SalesQuerySchema,
  salesReport,
  TopCustomersQuerySchema,
  topCustomers,
} from "../../shared/domain/orders/reports.ts";

export const handler = httpApi({
  "GET /v1/reports/sales": async (req) =>
    json(200, await salesReport(req.caller, parse(SalesQuerySchema, req.query, "query string"))),
  "GET /v1/reports/top-customers": async (req) =>
    json(200, await topCustomers(req.caller, parse(TopCustomersQuerySchema, req.query, "query string"))),
});
