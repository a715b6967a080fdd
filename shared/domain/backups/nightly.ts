// The nightly backup: every tenant with data gets one backup job per UTC day (a guard item per tenant and day makes
// a repeated tick or a redelivered message start nothing new). Each backup job runs its drill when it has finished.
import { logger } from "../../log/logger.ts";
import type { SendJobMessage } from "../jobs/service.ts";
import { startBackup, systemCaller } from "./backup.ts";
import { claimNight, releaseNight, scanTenants } from "./repository.ts";

/**
 * Starts this night's backups; resolves the tenants and job ids started now. Tenants are found by a Scan of the
 * table's partition keys (it reads the whole table once; README "Backups and restores" says why and what replaces it).
 */
export async function startNightlyBackups(
  at: Date,
  send?: SendJobMessage,
  tenants?: readonly string[],
): Promise<{ tenant: string; jobId: string }[]> {
  const day = at.toISOString().slice(0, 10);
  const started: { tenant: string; jobId: string }[] = [];
  for (const tenant of tenants ?? (await scanTenants())) {
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
