// Structured JSON logger shared by every function: one JSON line per entry on stdout (CloudWatch Logs in Lambda), with
// the invocation's keys (request id, route, tenant, user) appended per request. Small on purpose: it replaces
// Powertools' Logger, whose 18 KB a bundle could not afford under the 250 KB bundle target, keeping its line shape
// (level, message, timestamp, service, cold_start, function_name, function_request_id, keys, extras).

const LEVELS = { DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20, SILENT: 28 } as const;
export type LogLevel = keyof typeof LEVELS;

/** An entry's extras: an Error (logged as `error`) or an object whose keys are added to the line. */
type Extra = Error | Record<string, unknown> | undefined;

/** Errors become `{name, message, stack}` wherever they sit in an entry (JSON.stringify would give `{}`). */
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const { name, message, stack } = value;
    return { name, message, stack, ...(value.cause === undefined ? {} : { cause: value.cause }) };
  }
  return typeof value === "bigint" ? value.toString() : value;
}

export class Logger {
  private level: number;
  private keys: Record<string, unknown> = {};
  private context: Record<string, unknown> = {};
  private coldStart = true;

  constructor(private readonly options: { serviceName: string; logLevel?: string }) {
    this.level = LEVELS[(options.logLevel?.toUpperCase() ?? "INFO") as LogLevel] ?? LEVELS.INFO;
  }

  setLogLevel(level: LogLevel): void {
    this.level = LEVELS[level] ?? LEVELS.INFO;
  }

  /** Keys added to every line until `resetKeys` (the request's id, tenant and user). */
  appendKeys(keys: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(keys)) if (v !== undefined) this.keys[k] = v;
  }

  resetKeys(): void {
    this.keys = {};
  }

  /** The Lambda invocation the next lines belong to (function name, request id, cold start). */
  addContext(context: { functionName?: string; awsRequestId?: string }): void {
    this.context = {
      cold_start: this.coldStart,
      function_name: context.functionName,
      function_request_id: context.awsRequestId,
    };
    this.coldStart = false;
  }

  debug(message: string, ...extras: Extra[]): void {
    this.write("DEBUG", message, extras);
  }

  info(message: string, ...extras: Extra[]): void {
    this.write("INFO", message, extras);
  }

  warn(message: string, ...extras: Extra[]): void {
    this.write("WARN", message, extras);
  }

  error(message: string, ...extras: Extra[]): void {
    this.write("ERROR", message, extras);
  }

  private write(level: LogLevel, message: string, extras: Extra[]): void {
    if (LEVELS[level] < this.level) return;
    const line: Record<string, unknown> = {
      level,
      message,
      timestamp: new Date().toISOString(),
      service: this.options.serviceName,
      ...this.context,
      ...this.keys,
    };
    for (const e of extras) {
      if (e instanceof Error) line.error = e;
      else if (e) Object.assign(line, e);
    }
    process.stdout.write(JSON.stringify(line, replacer) + "\n");
  }
}

/** One logger per process; the HTTP and queue adapters set the per-invocation keys and context. */
export const logger = new Logger({ serviceName: "customer-master", logLevel: process.env.LOG_LEVEL ?? "INFO" });

/** Masks all but the last 4 characters, for values such as phone numbers that may appear in a log line. */
export function maskTail(value: string | undefined | null): string | undefined {
  if (!value) return undefined;
  return value.length <= 4 ? "****" : `${"*".repeat(Math.min(value.length - 4, 8))}${value.slice(-4)}`;
}
