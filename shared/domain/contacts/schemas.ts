// Contact schemas: a customer's people (strict input, API output).
import * as z from "zod";
import { maskable } from "../customers/schemas.ts";
import { EmailSchema, PhoneSchema } from "../validation/index.ts";

const text = (max: number) => z.string().trim().min(1, "must not be empty").max(max, `at most ${max} characters`);

export const ContactCreateSchema = z.strictObject({
  name: text(100),
  title: text(100).optional(),
  phone: PhoneSchema.optional(),
  mobile: PhoneSchema.optional(),
  email: EmailSchema.optional(),
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
