// The local runtime as a developer meets it: health, the authorizer's 401s, local tokens and info, an S3 drop and a
// schedule reaching their worker through the queue, all against the shared runtime of this test run.
import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { inject, describe, expect, it } from "vitest";
import { getHealth, type HealthItem } from "../../shared/domain/system/health-repository.ts";
import { api, mintToken, uniqueTenant } from "../support/http.ts";

const local = inject("local");

/** Polls `read` until `done` holds for its value (messages travel through a queue, so this takes a moment). */
async function eventually<T>(
  read: () => Promise<T>,
  done: (v: T) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}; last value: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("HTTP API", () => {
  it("answers the health check without a token", async () => {
    const res = await api().get("/v1/health");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ok" });
  });

  it("refuses a protected route without a token, as API Gateway's JWT authorizer does", async () => {
    const res = await api().get("/v1/customers");
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ message: "Unauthorized" });
  });

  it("refuses an expired token and a garbled one", async () => {
    const expired = await mintToken({ tenant: uniqueTenant(), ttlSeconds: -60 });
    for (const token of [expired, "not-a-jwt", `${expired.slice(0, -4)}AAAA`]) {
      const res = await api(token).get("/v1/customers");
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ message: "Unauthorized" });
    }
  });

  it("lets a freshly minted token through to the function", async () => {
    const res = await api(await mintToken({ tenant: uniqueTenant(), roles: ["viewer"] })).get("/v1/health");
    expect(res.status).toBe(200);
  });

  it("answers 404 for a path no function serves", async () => {
    const res = await api().get("/v1/nothing-here");
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ message: "Not Found" });
  });
});

describe("local routes", () => {
  it("mints a token with an expiry and rejects a request without tenant", async () => {
    const ok = await api().post("/_local/token", { tenant: "t1", sub: "u1", roles: ["admin", "sales"], dept: "d1" });
    expect(ok.status).toBe(200);
    expect(ok.body.token.split(".")).toHaveLength(3);
    expect(new Date(ok.body.expiresAt).getTime()).toBeGreaterThan(Date.now());

    const bad = await api().post("/_local/token", { sub: "u1", roles: "admin" });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["roles", "tenant"]);
  });

  it("describes the local services, queues and schedules", async () => {
    const res = await api().get("/_local/info");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      s3Endpoint: local.s3Endpoint,
      uploadsBucket: local.uploadsBucket,
      backupsBucket: local.backupsBucket,
      dynamodbEndpoint: local.dynamodbEndpoint,
      tableName: local.tableName,
      sqsEndpoint: local.sqsEndpoint,
      queues: {
        health: {
          url: `${local.sqsEndpoint}/000000000000/health`,
          visible: expect.any(Number),
          inFlight: expect.any(Number),
          dlq: expect.any(Number),
        },
      },
      schedules: { heartbeat: { expression: "rate(5 minutes)" } },
    });
  });

  it("publishes the issuer's public key", async () => {
    const res = await api().get("/_local/jwks.json");
    expect(res.status).toBe(200);
    expect(res.body.keys[0]).toMatchObject({ kty: "RSA", alg: "RS256", kid: expect.any(String) });
    expect(res.body.keys[0].d).toBeUndefined();
  });

  it("answers 404 for a schedule that does not exist", async () => {
    const res = await api().post("/_local/schedules/no-such-schedule/run");
    expect(res.status).toBe(404);
  });
});

describe("events reach the worker", () => {
  it("delivers a file dropped under imports/<tenant>/ in the uploads bucket to the import worker", async () => {
    const s3 = new S3Client({
      forcePathStyle: true,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    const tenant = uniqueTenant();
    const key = `imports/${tenant}/customers 2024 (1).csv`;
    const body = "name\nACME\n";
    await s3.send(new PutObjectCommand({ Bucket: local.uploadsBucket, Key: key, Body: body, ContentType: "text/csv" }));

    const admin = api(await mintToken({ tenant, roles: ["admin"] }));
    const list = await eventually(
      async () => (await admin.get("/v1/imports")).body,
      (b) => b?.items?.[0]?.status === "succeeded",
      `the import of ${key}`,
    );
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).toMatchObject({
      params: { fileName: "customers 2024 (1).csv", source: "s3-drop" },
      counts: { inserted: 1 },
    });
  });

  it("fires the heartbeat schedule on request and the worker records it", async () => {
    const before = new Date().toISOString();
    const res = await api().post("/_local/schedules/heartbeat/run");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ fired: "heartbeat", messageId: expect.any(String) });

    const item = await eventually<HealthItem | undefined>(
      () => getHealth("heartbeat"),
      (h) => typeof h?.detail.scheduledAt === "string" && h.detail.scheduledAt >= before,
      "a heartbeat after the run",
    );
    expect(item?.count).toBeGreaterThanOrEqual(1);
  });
});

describe("process lifecycle", () => {
  /** The pids of java processes whose command line mentions `dir`. */
  const javaUnder = (dir: string) =>
    execFileSync("ps", ["-eo", "pid=,comm=,args="], { encoding: "utf8" })
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .filter(([, comm, ...args]) => comm === "java" && args.join(" ").includes(dir))
      .map(([pid]) => Number(pid));

  it.runIf(process.platform === "linux")(
    "takes DynamoDB Local's java down with it even when killed with SIGKILL",
    async () => {
      const dataDir = await mkdtemp(join(tmpdir(), "customer-master-kill-"));
      const child = spawn(process.execPath, ["--openssl-legacy-provider", "--import", "tsx", "local/main.ts"], {
        env: { ...process.env, PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "SILENT" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      try {
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (out += d.toString()));
        await eventually(
          async () => out,
          (o) => /^ready http:\/\/127\.0\.0\.1:\d+$/m.test(o),
          "the ready line",
          50_000,
        );
        const java = javaUnder(dataDir);
        expect(java).toHaveLength(1);

        child.kill("SIGKILL");
        await eventually(
          async () => javaUnder(dataDir),
          (pids) => pids.length === 0,
          "java to exit",
        );
      } finally {
        child.kill("SIGKILL");
        await rm(dataDir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
