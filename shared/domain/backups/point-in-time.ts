// Point-in-time restore of one customer: its profile as it was at `at`, rebuilt from the latest backup taken before
// `at` plus the customer's audit entries after that backup (each holds the full after image), then written back as
// an ordinary, audited update (guards, search tokens and indexes move as for any PATCH).
// adapter --> (use case) --> domain & repositories
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { Caller } from "../../auth/claims.ts";
import { ConflictError, NotFoundError, UnprocessableError } from "../../http/errors.ts";
import { type AuditEntry, queryAudit } from "../audit/audit.ts";
import { customerKeys } from "../customers/keys.ts";
import { getCustomerItem, toCustomer } from "../customers/repository.ts";
import { type Customer, CustomerPatchSchema } from "../customers/schemas.ts";
import { getCustomer, patchCustomer, restoreCustomer } from "../customers/service.ts";
import { requireAdmin, resolveViewer } from "../org/viewer.ts";
import { decodeChunk, str } from "./codec.ts";
import { backupObjects as O } from "./keys.ts";
import { type BackupItem, getObjectBytes, listBackupItems } from "./repository.ts";

/** Profile fields a point-in-time restore sets back (what a PATCH may change). */
const RESTORABLE = Object.keys(CustomerPatchSchema.def.shape ?? {}).filter((k) => k !== "version");

/** The customer's profile image in a backup, or null when the backup does not hold it. */
async function profileInBackup(tenant: string, b: BackupItem, id: string): Promise<Record<string, unknown> | null> {
  const pk = customerKeys.pk(tenant, id);
  for (const c of b.chunks) {
    for (const it of decodeChunk(await getObjectBytes(O.chunk(tenant, b.id, c.name)))) {
      if (str(it, "PK") === pk && str(it, "SK") === customerKeys.profileSk()) {
        return { ...toCustomer(unmarshall(it)) } as Record<string, unknown>;
      }
    }
  }
  return null;
}

/** Every audit entry of the customer itself in (from, to], oldest first. */
async function entriesBetween(tenant: string, id: string, from: string, to: string): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await queryAudit(tenant, { entityId: id, from, to, limit: 200, cursor });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out
    .filter((e) => e.entityType === "customer" && e.at > from && e.at <= to)
    .sort((a, b) => (a.at < b.at ? -1 : 1));
}

/**
 * POST /v1/customers/{id}/restore?at= (admin): the customer's profile returns to its state at `at`. 422 when no
 * backup was taken before `at`; 409 when the customer did not exist or was in the recycle bin at `at`.
 */
export async function restoreCustomerAt(caller: Caller, id: string, at: Date, requestId?: string): Promise<Customer> {
  requireAdmin(await resolveViewer(caller));
  const when = at.toISOString();
  const current = await getCustomerItem(caller.tenant, id);
  if (!current) throw new NotFoundError(`customer ${id} not found`);
  const backups = (await listBackupItems(caller.tenant)).filter(
    (b) => b.status === "succeeded" && (b.startedAt ?? b.createdAt) <= when,
  );
  const base = backups[0];
  if (!base) throw new UnprocessableError(`no backup was taken before ${when}; nothing to restore from`);

  let image = await profileInBackup(caller.tenant, base, id);
  for (const e of await entriesBetween(caller.tenant, id, base.startedAt ?? base.createdAt, when)) image = e.after;
  if (!image) throw new ConflictError(`customer ${id} did not exist at ${when}`);
  if (image.deletedAt) throw new ConflictError(`customer ${id} was in the recycle bin at ${when}`);

  if (current.deletedAt) await restoreCustomer(caller, id, requestId);
  const now = toCustomer((await getCustomerItem(caller.tenant, id))!) as unknown as Record<string, unknown>;
  const patch: Record<string, unknown> = {};
  for (const k of RESTORABLE) {
    const then = image[k] ?? null;
    if (JSON.stringify(then) !== JSON.stringify(now[k] ?? null)) patch[k] = then;
  }
  if (Object.keys(patch).length === 0) return getCustomer(caller, id);
  const parsed = CustomerPatchSchema.safeParse(patch);
  if (!parsed.success) throw new ConflictError(`customer ${id}'s state at ${when} cannot be written back`);
  return patchCustomer(caller, id, parsed.data, now.version as number, requestId);
}
