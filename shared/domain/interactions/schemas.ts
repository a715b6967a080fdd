// Interaction schemas: calls, visits, e-mails, meetings, complaints and surveys with a customer (strict input, API output).
import * as z from "zod";

export const INTERACTION_KINDS = ["call", "visit", "email", "meeting", "complaint", "survey"] as const;
export type InteractionKind = (typeof INTERACTION_KINDS)[number];
export const COMPLAINT_STATES = ["open", "resolved"] as const;

/** How far in the future `at` may lie (clock skew between a client and us). */
export const MAX_FUTURE_MS = 5 * 60 * 1000;
/** The earliest `at` accepted (ids carry the time, and nothing older is plausible). */
export const EARLIEST_AT = "2000-01-01T00:00:00.000Z";

const text = (max: number) => z.string().trim().min(1, "must not be empty").max(max, `at most ${max} characters`);

/** An ISO-8601 date-time (offset allowed), stored in UTC with milliseconds; not before 2000, not in the future. */
export const AtSchema = z.iso
  .datetime({ offset: true, message: "an ISO-8601 date-time, e.g. 2026-11-24T08:30:00Z" })
  .transform((s) => new Date(s).toISOString())
  .refine((s) => s >= EARLIEST_AT, "must not be before 2000")
  .refine((s) => Date.parse(s) <= Date.now() + MAX_FUTURE_MS, "must not be in the future");

const IdSchema = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, "not a valid id");

export const InteractionCreateSchema = z
  .strictObject({
    kind: z.enum(INTERACTION_KINDS),
    at: AtSchema.optional(),
    summary: text(2000).optional(),
    contactId: IdSchema.optional(),
    score: z.number().int("a whole number from 1 to 5").min(1, "from 1 to 5").max(5, "from 1 to 5").optional(),
  })
  .superRefine((i, ctx) => {
    if (i.kind === "survey" && i.score === undefined) {
      ctx.addIssue({ code: "custom", path: ["score"], message: "a survey needs a score from 1 to 5" });
    }
    if (i.kind !== "survey" && i.score !== undefined) {
      ctx.addIssue({ code: "custom", path: ["score"], message: "only surveys carry a score" });
    }
  });

export const InteractionPatchSchema = z
  .strictObject({
    version: z.number().int().min(1).optional(),
    summary: text(2000).nullable().optional(),
    state: z.enum(COMPLAINT_STATES).optional(),
    resolution: text(2000).nullable().optional(),
  })
  .refine((p) => Object.keys(p).some((k) => k !== "version"), "nothing to change");

export const InteractionSchema = z.object({
  id: z.string(),
  customerId: z.string(),
  kind: z.enum(INTERACTION_KINDS),
  at: z.string(),
  summary: z.string().optional(),
  contactId: z.string().optional(),
  score: z.number().int().optional(),
  state: z.enum(COMPLAINT_STATES).optional(),
  resolution: z.string().optional(),
  resolvedAt: z.string().optional(),
  resolvedBy: z.string().optional(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  createdBy: z.string(),
  updatedBy: z.string(),
});

export const InteractionListQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200, "limit is at most 200").default(50),
  cursor: z.string().max(4096).optional(),
});

export const InteractionListSchema = z.object({
  items: z.array(InteractionSchema),
  nextCursor: z.string().nullable(),
});

export type InteractionCreate = z.output<typeof InteractionCreateSchema>;
export type InteractionPatch = z.output<typeof InteractionPatchSchema>;
export type Interaction = z.infer<typeof InteractionSchema>;

/**
 * The customer's attributes an interaction is counted under in the satisfaction rollups, fixed when it is recorded
 * (a later change of the customer's region, owner... does not move past interactions).
 */
export interface Dims {
  month: string;
  deptPath: string;
  ownerId: string;
  region: string;
  industry: string;
  level: string;
}
