// Contact schemas: a customer's people (strict input, API output).
import * as z from "zod";
import { maskable } from "../customers/schemas.ts";
import { EmailSchema, PhoneSchema } from "../validation/index.ts";

/**
 * A birthday: `YYYY-MM-DD`, or `--MM-DD` when the year is unknown (ISO 8601's reduced form). Must be a real calendar
 * day (`--02-29` is allowed; in years without it the birthday falls on 28 February), not after today, year 1900 or
 * later.
 */
export const BirthdaySchema = z
  .string()
  .trim()
  .regex(/^(\d{4}-|--)\d{2}-\d{2}$/, "a date YYYY-MM-DD, or --MM-DD when the year is unknown")
  .refine((s) => {
    const [y, m, d] = [s.startsWith("--") ? 2000 : Number(s.slice(0, 4)), Number(s.slice(-5, -3)), Number(s.slice(-2))];
    const t = new Date(Date.UTC(y, m - 1, d));
    return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
  }, "not a calendar day")
  .refine(
    (s) => s.startsWith("--") || (s.slice(0, 4) >= "1900" && s.slice(0, 10) <= new Date().toISOString().slice(0, 10)),
    {
      message: "the year must be 1900 or later and the date not in the future",
    },
  );

/** The month and day (`MM-DD`) of a birthday, whichever form it has. */
export const birthdayMonthDay = (b: string): string => b.slice(-5);

const text = (max: number) => z.string().trim().min(1, "must not be empty").max(max, `at most ${max} characters`);

export const ContactCreateSchema = z.strictObject({
  name: text(100),
  title: text(100).optional(),
  phone: PhoneSchema.optional(),
  mobile: PhoneSchema.optional(),
  email: EmailSchema.optional(),
  birthday: BirthdaySchema.optional(),
  isPrimary: z.boolean().default(false),
});

export const ContactPatchSchema = z
  .strictObject({
    version: z.number().int().min(1).optional(),
    name: text(100).optional(),
    title: text(100).nullable().optional(),
    phone: maskable(PhoneSchema).nullable().optional(),
    mobile: maskable(PhoneSchema).nullable().optional(),
    email: maskable(EmailSchema).nullable().optional(),
    birthday: BirthdaySchema.nullable().optional(),
    isPrimary: z.boolean().optional(),
  })
  .refine((p) => Object.keys(p).some((k) => k !== "version"), "nothing to change");

export const ContactSchema = z.object({
  id: z.string(),
  customerId: z.string(),
  name: z.string(),
  title: z.string().optional(),
  phone: z.string().optional(),
  mobile: z.string().optional(),
  email: z.string().optional(),
  /** `YYYY-MM-DD`, or `--MM-DD` when the year is unknown. */
  birthday: z.string().optional(),
  isPrimary: z.boolean(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  createdBy: z.string(),
  updatedBy: z.string(),
});

export const ContactListQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200, "limit is at most 200").default(50),
  cursor: z.string().max(4096).optional(),
});

export const ContactListSchema = z.object({ items: z.array(ContactSchema), nextCursor: z.string().nullable() });

export type ContactCreate = z.output<typeof ContactCreateSchema>;
export type ContactPatch = z.output<typeof ContactPatchSchema>;
export type Contact = z.infer<typeof ContactSchema>;
