// Checks that a Java runtime able to run DynamoDB Local (Java 17+) is on PATH.
import { spawnSync } from "node:child_process";

export type JavaCheck = { ok: true; version: number } | { ok: false; message: string };

/** Runs `java -version` and reads the major version from its banner (printed on stderr). */
export function checkJava(command = "java"): JavaCheck {
  const res = spawnSync(command, ["-version"], { encoding: "utf8", timeout: 30_000 });
  if (res.error) {
    const code = (res.error as NodeJS.ErrnoException).code;
    return {
      ok: false,
      message:
        code === "ENOENT"
          ? "Java 17+ is required to run DynamoDB Local (java not found on PATH)"
          : `Java 17+ is required to run DynamoDB Local (\`java -version\` failed: ${res.error.message})`,
    };
  }
  const banner = `${res.stderr ?? ""}${res.stdout ?? ""}`;
  if (res.status !== 0) {
    const first = banner.trim().split("\n")[0] ?? "";
    return {
      ok: false,
      message: `Java 17+ is required to run DynamoDB Local (\`java -version\` exited ${res.status}: ${first})`,
    };
  }
  const m = /version "(\d+)(?:\.(\d+))?/.exec(banner);
  if (!m) return { ok: true, version: 0 };
  // Java 8 and older report "1.8.0_x"; 9+ report the major first.
  const major = m[1] === "1" ? Number(m[2] ?? 0) : Number(m[1]);
  if (major < 17) {
    return { ok: false, message: `Java 17+ is required to run DynamoDB Local (found Java ${major})` };
  }
  return { ok: true, version: major };
}
