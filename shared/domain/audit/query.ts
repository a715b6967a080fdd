// The audit query strings: history by record (entityId) or by user (userId), optionally within a time window; verify.
import * as z from "zod";
import { PrincipalIdSchema } from "../customers/schemas.ts";

const iso = z.iso.datetime({ offset: true, message: "an ISO-8601 date-time" });

export const AuditQuerySchema = z.strictObject({
  entityId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "not a valid id")
    .optional(),
  userId: PrincipalIdSchema.optional(),
  from: iso.optional(),
  to: iso.optional(),
  limit: z.coerce.number().int().min(1).max(200, "limit is at most 200").default(50),
  cursor: z.string().max(4096).optional(),
});

/** GET /v1/audit/verify takes no parameters (an unknown one is a 400, as everywhere). */
export const AuditVerifyQuerySchema = z.strictObject({});
