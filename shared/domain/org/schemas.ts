// Department and user schemas: the organisation that data scopes are computed from.
import * as z from "zod";
import { ROLES } from "../../auth/claims.ts";
import { DATA_SCOPES } from "../../auth/permissions.ts";
import { PrincipalIdSchema } from "../customers/schemas.ts";

/** Department ids appear in tokens (`dept`) and in paths, so they are short and carry no `/` or `#`. */
export const DeptIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$/, "not a valid department id");

export const DepartmentCreateSchema = z.strictObject({
  id: DeptIdSchema.optional(),
  name: z.string().trim().min(1).max(100),
  parentId: DeptIdSchema.optional(),
});

export const DepartmentPatchSchema = z.strictObject({
  version: z.number().int().min(1).optional(),
  name: z.string().trim().min(1).max(100),
});

export const DepartmentSchema = z.object({
  id: z.string(),
  name: z.string(),
  parentId: z.string().optional(),
  path: z.string(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Department = z.infer<typeof DepartmentSchema>;

export const UserPutSchema = z.strictObject({
  version: z.number().int().min(0).optional(),
  name: z.string().trim().min(1).max(100).optional(),
  roles: z.array(z.enum(ROLES)).min(1).max(5),
  deptId: DeptIdSchema,
  dataScope: z.enum(DATA_SCOPES).optional(),
  /** The user's manager, to whom overdue follow-ups escalate. */
  managerId: PrincipalIdSchema.optional(),
});

export const UserSchema = z.object({
  id: z.string(),
  name: z.string().optional(),
  roles: z.array(z.enum(ROLES)),
  deptId: z.string(),
  deptPath: z.string(),
  dataScope: z.enum(DATA_SCOPES),
  managerId: z.string().optional(),
  version: z.number().int(),
  updatedAt: z.string().optional(),
  updatedBy: z.string().optional(),
  /** true when no record was saved and the values come from the token and the role defaults. */
  implicit: z.boolean().optional(),
});
export type User = z.infer<typeof UserSchema>;
