// The nightly backup: every registered tenant gets one backup job per UTC day (a guard item per tenant and day makes
// a repeated tick or a redelivered message start nothing new). Each backup job runs its drill when it has finished.
import { logger } from "../../log/logger.ts";
import type { SendJobMessage } from "../jobs/service.ts";
import { startBackup, systemCaller } from "./backup.ts";
import { listTenants } from "../tenants/registry.ts";
import { claimNight, releaseNight } from "./repository.ts";

/**
 * Starts this night's backups; resolves the tenants and job ids started now. The tenants are the registry's
 * (shared/domain/tenants/registry.ts: every audited write registers its tenant), or `tenants` when given.
 */
export async function startNightlyBackups(
  at: Date,
  send?: SendJobMessage,
  tenants?: readonly string[],
): Promise<{ tenant: string; jobId: string }[]> {
  const day = at.toISOString().slice(0, 10);
  const started: { tenant: string; jobId: string }[] = [];
  for (const tenant of tenants ?? (await listTenants())) {
    if (!(await claimNight(tenant, day))) continue;
    try {
      const { jobId } = await startBackup(systemCaller(tenant), "nightly", `nightly-${day}`, send);
      started.push({ tenant, jobId });
    } catch (err) {
      // Give the night back so the redelivered message tries this tenant again.
      await releaseNight(tenant, day);
      logger.error("could not start a nightly backup", { tenant, error: err as Error });
      throw err;
    }
  }
  return started;
}
