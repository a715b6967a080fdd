// Which backups to keep: the newest of each of the last N days, weeks and months (grandfather-father-son), in UTC.

export interface RetentionPolicy {
  daily: number;
  weekly: number;
  monthly: number;
}

const day = (iso: string) => iso.slice(0, 10);
const month = (iso: string) => iso.slice(0, 7);
/** The Monday (UTC) of the ISO week an instant falls in. */
function week(iso: string): string {
  const d = new Date(`${day(iso)}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return d.toISOString().slice(0, 10);
}

/**
 * Ids of the backups to keep among finished ones (`at` = when each was taken): for each of the most recent `daily`
 * days (that have a backup) the newest backup of that day, likewise for weeks and months. Everything else may go.
 */
export function backupsToKeep(backups: readonly { id: string; at: string }[], policy: RetentionPolicy): Set<string> {
  const newestFirst = [...backups].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  const keep = new Set<string>();
  const bucket = (n: number, period: (iso: string) => string) => {
    const seen = new Set<string>();
    for (const b of newestFirst) {
      const p = period(b.at);
      if (seen.has(p)) continue;
      if (seen.size >= n) break;
      seen.add(p);
      keep.add(b.id);
    }
  };
  bucket(policy.daily, day);
  bucket(policy.weekly, week);
  bucket(policy.monthly, month);
  return keep;
}
