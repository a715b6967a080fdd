// The local scheduler: ticks send `{...message, scheduledAt}` to the queue, runNow fires at once, state survives restarts.
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ScheduleDef } from "../../../functions/manifest.ts";
import { Scheduler, UnknownScheduleError } from "../../../local/scheduler/scheduler.ts";
import { writeJsonAtomic } from "../../../local/util/fs.ts";
import { memoryLog, tempDir } from "./helpers.ts";

const schedules: Record<string, ScheduleDef> = {
  heartbeat: { expression: "rate(5 minutes)", queue: "health", message: { kind: "heartbeat" } },
  nightly: { expression: "cron(0 2 * * ? *)", queue: "backups", message: { kind: "backup", mode: "full" } },
};

function setup(dir: string, enabled = true) {
  const sent: Array<{ queue: string; body: Record<string, unknown> }> = [];
  const scheduler = new Scheduler({
    schedules,
    stateFile: join(dir, "scheduler.json"),
    enabled,
    log: memoryLog(),
    send: async (queue, body) => {
      sent.push({ queue, body: JSON.parse(body) as Record<string, unknown> });
      return { messageId: `m${sent.length}` };
    },
  });
  return { scheduler, sent };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  vi.setSystemTime(new Date("2024-01-01T01:58:00Z"));
});
afterEach(() => {
  vi.useRealTimers();
});

describe("scheduler", () => {
  it("sends each schedule's message with the tick time on every tick", async () => {
    const { scheduler, sent } = setup(await tempDir());
    await scheduler.start();
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    await scheduler.stop();
    expect(sent).toEqual([
      { queue: "backups", body: { kind: "backup", mode: "full", scheduledAt: "2024-01-01T02:00:00.000Z" } },
      { queue: "health", body: { kind: "heartbeat", scheduledAt: "2024-01-01T02:03:00.000Z" } },
    ]);
  });

  it("fires one schedule now on request, and refuses an unknown name", async () => {
    const { scheduler, sent } = setup(await tempDir(), false);
    await scheduler.start();
    expect(await scheduler.runNow("heartbeat")).toEqual({ fired: "heartbeat", messageId: "m1" });
    expect(sent).toEqual([{ queue: "health", body: { kind: "heartbeat", scheduledAt: "2024-01-01T01:58:00.000Z" } }]);
    await expect(scheduler.runNow("nope")).rejects.toBeInstanceOf(UnknownScheduleError);
    await scheduler.stop();
  });

  it("sends nothing on its own when disabled", async () => {
    const { scheduler, sent } = setup(await tempDir(), false);
    await scheduler.start();
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    await scheduler.stop();
    expect(sent).toEqual([]);
    expect(scheduler.info().heartbeat).toMatchObject({
      expression: "rate(5 minutes)",
      lastRunAt: null,
      nextRunAt: null,
    });
  });

  it("remembers the last run across a restart", async () => {
    const dir = await tempDir();
    const first = setup(dir, false);
    await first.scheduler.start();
    await first.scheduler.runNow("nightly");
    await first.scheduler.stop();

    const second = setup(dir, false);
    await second.scheduler.start();
    expect(second.scheduler.info().nightly!.lastRunAt).toBe("2024-01-01T01:58:00.000Z");
    await second.scheduler.stop();
  });

  it("fires once for the latest tick missed while stopped", async () => {
    const dir = await tempDir();
    await writeJsonAtomic(join(dir, "scheduler.json"), {
      heartbeat: { lastTickAt: "2024-01-01T01:40:00.000Z", since: "2024-01-01T00:00:00.000Z" },
      nightly: { lastTickAt: "2024-01-01T02:00:00.000Z", since: "2024-01-01T00:00:00.000Z" },
    });
    vi.setSystemTime(new Date("2024-01-01T01:57:00Z"));
    const { scheduler, sent } = setup(dir);
    await scheduler.start();
    await scheduler.stop();
    // 01:45, 01:50 and 01:55 were missed: one message, for 01:55. The nightly one is not due.
    expect(sent).toEqual([{ queue: "health", body: { kind: "heartbeat", scheduledAt: "2024-01-01T01:55:00.000Z" } }]);
  });
});
