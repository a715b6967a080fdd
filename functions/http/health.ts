// GET /v1/health: a public liveness check through the same middy stack as every route.
import { httpApi } from "../../shared/http/api.ts";
import { json } from "../../shared/http/response.ts";

export const handler = httpApi({
  "GET /v1/health": { public: async () => json(200, { status: "ok" }) },
});
