// Classification schemes: what a client may send (rules validated with the condition language) and what it reads.
import * as z from "zod";
import { RuleConditionSchema, type Condition } from "../conditions/condition.ts";

export const SchemeIdSchema = z
  .string()
  .regex(/^[a-z][a-zA-Z0-9_-]{0,63}$/, "scheme id: a lowercase letter, then up to 63 letters, digits, _ or -");

const CategoryValueSchema = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(64, "at most 64 characters")
  .regex(/^[^#:]+$/, "a category value may not contain # or :");

/** A scheme may take its category straight from a field (e.g. the industry), or its first `length` characters. */
const ValueFromSchema = z.strictObject({
  field: z.enum(["industry", "region", "type", "level", "stage", "customFields.creditRating"]),
  length: z.number().int().min(1).max(64).optional(),
});

export const RuleSchema = z.strictObject({ value: CategoryValueSchema, when: RuleConditionSchema });

export const SchemeInputSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    description: z.string().max(1000).optional(),
    rules: z.array(RuleSchema).max(50, "at most 50 rules").default([]),
    valueFrom: ValueFromSchema.optional(),
    default: CategoryValueSchema,
    active: z.boolean().default(true),
    /** Days without an order or interaction after which a customer of a category turns dormant (lifecycle). */
    dormancyDays: z.record(CategoryValueSchema, z.number().int().min(1).max(3650)).optional(),
    /** On PUT: the version the caller read (optimistic locking; If-Match works too). */
    version: z.number().int().min(1).optional(),
  })
  .superRefine((s, ctx) => {
    if (!s.rules.length && !s.valueFrom) {
      ctx.addIssue({ code: "custom", path: ["rules"], message: "a scheme needs rules or valueFrom" });
    }
    if (s.rules.length && s.valueFrom) {
      ctx.addIssue({ code: "custom", path: ["valueFrom"], message: "a scheme has either rules or valueFrom" });
    }
  });
export type SchemeInput = z.output<typeof SchemeInputSchema>;

/** A scheme as stored and shown: the current version, or an older one read with `?version=`. */
export interface Scheme {
  id: string;
  name: string;
  description?: string;
  rules: { value: string; when: Condition }[];
  valueFrom?: { field: string; length?: number };
  default: string;
  active: boolean;
  dormancyDays?: Record<string, number>;
  builtIn: boolean;
  version: number;
  createdAt: string;
  updatedAt: string;
  updatedBy: string;
}

export const PreviewInputSchema = z.strictObject({
  /** A proposed rule set; without it the preview compares stored categories with the scheme as it is now. */
  rules: z.array(RuleSchema).max(50).optional(),
  default: CategoryValueSchema.optional(),
  valueFrom: ValueFromSchema.optional(),
  sample: z.number().int().min(0).max(100).default(20),
});
export type PreviewInput = z.output<typeof PreviewInputSchema>;

export const HistoryQuerySchema = z.strictObject({
  at: z.iso.datetime({ offset: true, message: "at: an ISO-8601 time" }).optional(),
});

export const SchemeQuerySchema = z.strictObject({ version: z.coerce.number().int().min(1).optional() });
