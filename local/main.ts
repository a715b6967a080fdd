// `npm start`: the local runtime on 127.0.0.1:$PORT (default 3000) with its data under $DATA_DIR (default .data/).
import { checkJava } from "./java.ts";
import { type LocalRuntime, startLocal } from "./runtime.ts";

const java = checkJava();
if (!java.ok) {
  process.stderr.write(`error: ${java.message}\n`);
  process.exit(1);
}

const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`error: PORT must be a port number, not ${process.env.PORT}\n`);
  process.exit(1);
}
const dataDir = process.env.DATA_DIR || ".data/";
const host = process.env.HOST || "127.0.0.1";

let runtime: LocalRuntime | undefined;
let exiting = false;

async function shutdown(code: number, why: string): Promise<void> {
  if (exiting) {
    // A second Ctrl-C: leave now; the exit hook still kills java and saves the queues.
    process.exit(code);
  }
  exiting = true;
  process.stdout.write(`[local] ${why}: stopping\n`);
  const force = setTimeout(() => process.exit(code), 15_000);
  force.unref();
  try {
    await runtime?.stop();
  } finally {
    process.exit(code);
  }
}

process.on("SIGINT", () => void shutdown(130, "SIGINT"));
process.on("SIGTERM", () => void shutdown(143, "SIGTERM"));
process.on("SIGHUP", () => void shutdown(129, "SIGHUP"));
process.on("uncaughtException", (err) => {
  process.stderr.write(`[local] uncaught exception: ${err.stack ?? err.message}\n`);
  void shutdown(1, "crash");
});
process.on("unhandledRejection", (err) => {
  process.stderr.write(
    `[local] unhandled rejection: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  void shutdown(1, "crash");
});

try {
  runtime = await startLocal({ port, dataDir, host, handlerLogLevel: "INFO" });
} catch (err) {
  const e = err as NodeJS.ErrnoException;
  const message =
    e.code === "EADDRINUSE" ? `port ${port} on ${host} is already in use (set PORT)` : (e.message ?? String(err));
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}
if (exiting) await runtime.stop();
else process.stdout.write(`ready ${runtime.baseUrl}\n`);
