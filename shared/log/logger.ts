// Structured JSON logger (Powertools) shared by every function; request id, tenant and user are appended per request.
import { Logger } from "@aws-lambda-powertools/logger";

/** One logger per process; `withRequest` adds the per-invocation keys and `resetKeys` clears them. */
export const logger = new Logger({
  serviceName: "customer-master",
  logLevel: (process.env.LOG_LEVEL ?? "INFO") as "INFO",
});

/** Masks all but the last 4 characters, for values such as phone numbers that may appear in a log line. */
export function maskTail(value: string | undefined | null): string | undefined {
  if (!value) return undefined;
  return value.length <= 4 ? "****" : `${"*".repeat(Math.min(value.length - 4, 8))}${value.slice(-4)}`;
}
