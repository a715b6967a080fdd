// The local runtime's own log lines: plain text, one line each (the handlers log JSON lines themselves).

export interface LocalLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export type LocalLogLevel = "info" | "warn" | "error" | "silent";

const rank: Record<LocalLogLevel, number> = { info: 0, warn: 1, error: 2, silent: 3 };

/** A logger writing `[local] message` lines: info to stdout, warnings and errors to stderr. */
export function localLog(level: LocalLogLevel = "info"): LocalLog {
  const on = (l: LocalLogLevel) => rank[l] >= rank[level];
  return {
    info: (m) => on("info") && void process.stdout.write(`[local] ${m}\n`),
    warn: (m) => on("warn") && void process.stderr.write(`[local] warning: ${m}\n`),
    error: (m) => on("error") && void process.stderr.write(`[local] error: ${m}\n`),
  };
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
