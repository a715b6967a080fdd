// Customer schemas: what a client may send (strict: unknown fields are refused) and what it gets back.
import * as z from "zod";
import {
  EmailSchema,
  FaxSchema,
  PhoneSchema,
  PostcodeSchema,
  RegionCodeSchema,
  UsccSchema,
} from "../validation/index.ts";

export const CUSTOMER_TYPES = ["enterprise", "individual"] as const;
/** Lifecycle stages (the classification issue adds the allowed transitions between them). */
export const STAGES = ["potential", "intention", "formal", "dormant", "lost"] as const;

/** Ids of users and departments as they appear in tokens. */
export const PrincipalIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/, "not a valid user id");

const text = (max: number) => z.string().trim().min(1, "must not be empty").max(max, `at most ${max} characters`);

export const CodeSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_\-./]{0,63}$/, "code: 1-64 letters, digits, - _ . / starting with a letter or digit");

const TagsSchema = z
  .array(text(32))
  .max(50, "at most 50 tags")
  .transform((tags) => [...new Set(tags)]);

const CustomFieldsSchema = z
  .record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "custom field names: letters, digits, _ (max 64)"),
    z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]),
  )
  .refine((o) => Object.keys(o).length <= 50, "at most 50 custom fields");

/** Fields a client may set, each with its validation. */
const fields = {
  name: text(200),
  code: CodeSchema,
  type: z.enum(CUSTOMER_TYPES),
  industry: text(64),
  region: RegionCodeSchema,
  address: text(500),
  phone: PhoneSchema,
  postcode: PostcodeSchema,
  fax: FaxSchema,
  email: EmailSchema,
  uscc: UsccSchema,
  level: text(32),
  ownerId: PrincipalIdSchema,
  stage: z.enum(STAGES),
  tags: TagsSchema,
  customFields: CustomFieldsSchema,
};

/**
 * On PATCH a sensitive field may also carry its masked form (a form sent back whole); the service drops it when it
 * equals the masked stored value and refuses it otherwise.
 */
export const maskable = <S extends z.ZodType>(schema: S) => z.union([schema, z.string().regex(/\*{3}/).max(254)]);

/** Fields that PATCH may clear by sending null. */
export const CLEARABLE = [
  "industry",
  "region",
  "address",
  "phone",
  "postcode",
  "fax",
  "email",
  "uscc",
  "level",
  "tags",
  "customFields",
] as const;

export const CustomerCreateSchema = z
  .strictObject({
    name: fields.name,
    code: fields.code.optional(),
    type: fields.type.default("enterprise"),
    industry: fields.industry.optional(),
    region: fields.region.optional(),
    address: fields.address.optional(),
    phone: fields.phone.optional(),
    postcode: fields.postcode.optional(),
    fax: fields.fax.optional(),
    email: fields.email.optional(),
    uscc: fields.uscc.optional(),
    level: fields.level.optional(),
    ownerId: fields.ownerId.optional(),
    stage: fields.stage.default("potential"),
    tags: fields.tags.optional(),
    customFields: fields.customFields.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.uscc && c.type === "individual") {
      ctx.addIssue({ code: "custom", path: ["uscc"], message: "a unified social credit code applies to enterprises" });
    }
  });

export const CustomerPatchSchema = z
  .strictObject({
    version: z.number().int().min(1).optional(),
    name: fields.name.optional(),
    code: fields.code.optional(),
    type: fields.type.optional(),
    industry: fields.industry.nullable().optional(),
    region: fields.region.nullable().optional(),
    address: fields.address.nullable().optional(),
    phone: maskable(fields.phone).nullable().optional(),
    postcode: fields.postcode.nullable().optional(),
    fax: maskable(fields.fax).nullable().optional(),
    email: maskable(fields.email).nullable().optional(),
    uscc: maskable(fields.uscc).nullable().optional(),
    level: fields.level.nullable().optional(),
    ownerId: fields.ownerId.optional(),
    stage: fields.stage.optional(),
    tags: fields.tags.nullable().optional(),
    customFields: fields.customFields.nullable().optional(),
  })
  .refine((p) => Object.keys(p).some((k) => k !== "version"), "nothing to change");

export type CustomerCreate = z.output<typeof CustomerCreateSchema>;
export type CustomerPatch = z.output<typeof CustomerPatchSchema>;

/** What the API returns for a customer. */
export const CustomerSchema = z.object({
  id: z.string(),
  code: z.string(),
  name: z.string(),
  type: z.enum(CUSTOMER_TYPES),
  industry: z.string().optional(),
  region: z.string().optional(),
  regionName: z.string().optional(),
  address: z.string().optional(),
  phone: z.string().optional(),
  postcode: z.string().optional(),
  fax: z.string().optional(),
  email: z.string().optional(),
  uscc: z.string().optional(),
  level: z.string().optional(),
  ownerId: z.string(),
  deptId: z.string().optional(),
  deptPath: z.string().optional(),
  stage: z.enum(STAGES),
  tags: z.array(z.string()).optional(),
  customFields: z.record(z.string(), z.unknown()).optional(),
  categories: z.record(z.string(), z.string()),
  /** Value score 0-100 from the tenant's value model, with each factor's points. */
  valueScore: z.number().int().min(0).max(100).optional(),
  valueFactors: z.record(z.string(), z.number()).optional(),
  stats: z.record(z.string(), z.unknown()),
  primaryContactId: z.string().optional(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  createdBy: z.string(),
  updatedBy: z.string(),
  deletedAt: z.string().optional(),
  deletedBy: z.string().optional(),
});
export type Customer = z.infer<typeof CustomerSchema>;

const RegionFilterSchema = z.string().regex(/^\d{2}(\d{2}){0,2}$/, "region filter: a 2, 4 or 6 digit GB/T 2260 code");

export const CustomerListQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200, "limit is at most 200").default(50),
  cursor: z.string().max(4096).optional(),
  q: z.string().trim().min(1).max(100).optional(),
  industry: z.string().max(64).optional(),
  region: RegionFilterSchema.optional(),
  level: z.string().max(32).optional(),
  type: z.enum(CUSTOMER_TYPES).optional(),
  stage: z.enum(STAGES).optional(),
  owner: PrincipalIdSchema.optional(),
  category: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}:.{1,64}$/, "category filter is <schemeId>:<value>")
    .optional(),
  deleted: z.enum(["true", "false"]).optional(),
});
export type CustomerListQuery = z.output<typeof CustomerListQuerySchema>;

export const CustomerListSchema = z.object({ items: z.array(CustomerSchema), nextCursor: z.string().nullable() });
