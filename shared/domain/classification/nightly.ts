// The nightly classification sweep: for every registered tenant, one `classify` job per day (value scores whose
// recency decayed, categories with `within` conditions, dormancy). A guard item written in the job's own transaction
// makes the start idempotent: a tick delivered twice, or two overlapping ticks, start one job per tenant and day.
import { ConflictError } from "../../http/errors.ts";
import { logger } from "../../log/logger.ts";
import { type SendJobMessage, startJob } from "../jobs/service.ts";
import { listTenants } from "../tenants/registry.ts";
import { nightlyGuard } from "./repository.ts";

/** The user nightly jobs are started as. */
export const SYSTEM_USER = "system";

/** Starts today's classify job of every tenant that has none yet; resolves how many were started. */
export async function runNightlyClassification(
  scheduledAt: string,
  opts: { send?: SendJobMessage; only?: (tenant: string) => boolean } = {},
): Promise<number> {
  const { send, only } = opts;
  const day = scheduledAt.slice(0, 10);
  let started = 0;
  for (const tenant of await listTenants()) {
    if (only && !only(tenant)) continue;
    try {
      await startJob(
        { tenant, userId: SYSTEM_USER, roles: ["admin"], dept: undefined },
        { type: "classify", params: { nightly: day }, total: 0, counts: { changed: 0, unchanged: 0, dormant: 0 } },
        `nightly:${day}`,
        send,
        [nightlyGuard(tenant, day, () => new ConflictError(`tenant ${tenant}: the nightly job of ${day} exists`))],
      );
      started++;
    } catch (err) {
      if (err instanceof ConflictError) continue;
      logger.error("could not start a tenant's nightly classification", { tenant, error: err as Error });
    }
  }
  return started;
}
