// The local EventBridge: fires every manifest schedule at its ticks (UTC), sending `{...message, scheduledAt}` to its
// queue. Last fire times live in a JSON file, so rates keep their phase and a tick missed while stopped fires once.
import type { ScheduleDef } from "../../functions/manifest.ts";
import { SnapshotFile, readJson } from "../util/fs.ts";
import { type LocalLog, errorMessage } from "../util/log.ts";
import { type ParsedSchedule, nextFireTime, parseScheduleExpression, previousFireTime } from "./expression.ts";

export type ScheduleSend = (queue: string, body: string) => Promise<{ messageId: string }>;

interface ScheduleState {
  /** When the schedule last sent a message (ticks and runNow). */
  lastRunAt?: string;
  /** The last tick time fired; rates count their interval from it. */
  lastTickAt?: string;
  /** When this schedule was first seen; rates count from it until the first tick. */
  since?: string;
}

export interface ScheduleInfo {
  expression: string;
  queue: string;
  lastRunAt: string | null;
  nextRunAt: string | null;
}

export interface SchedulerOptions {
  schedules: Record<string, ScheduleDef>;
  send: ScheduleSend;
  /** JSON file keeping each schedule's last fire time. */
  stateFile: string;
  /** false: no timers (runNow still works). */
  enabled: boolean;
  log: LocalLog;
  now?: () => Date;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export class UnknownScheduleError extends Error {
  constructor(readonly schedule: string) {
    super(`no schedule named ${schedule}`);
  }
}

export class Scheduler {
  private readonly parsed = new Map<string, ParsedSchedule>();
  private state: Record<string, ScheduleState> = {};
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly next = new Map<string, Date | null>();
  private readonly file: SnapshotFile;
  private running = false;
  private readonly now: () => Date;

  constructor(private readonly opts: SchedulerOptions) {
    this.now = opts.now ?? (() => new Date());
    // Parse up front: a bad expression stops the start, as it would stop a deploy.
    for (const [name, def] of Object.entries(opts.schedules))
      this.parsed.set(name, parseScheduleExpression(def.expression));
    this.file = new SnapshotFile(opts.stateFile, () => this.state);
  }

  /** Loads the saved state and, when enabled, arms a timer per schedule (firing once first for a tick missed while stopped). */
  async start(): Promise<void> {
    this.state = await readJson<Record<string, ScheduleState>>(this.opts.stateFile, {});
    const now = this.now();
    for (const name of this.parsed.keys()) {
      const st = (this.state[name] ??= {});
      st.since ??= now.toISOString();
    }
    await this.file.save();
    if (!this.opts.enabled) return;
    this.running = true;
    for (const [name, s] of this.parsed) {
      const st = this.state[name]!;
      if (st.lastTickAt) {
        const anchor = new Date(st.lastTickAt);
        const missed = previousFireTime(s, now, anchor);
        if (missed && missed.getTime() > anchor.getTime()) {
          this.opts.log.info(`schedule ${name} missed ${missed.toISOString()} while stopped; firing it once now`);
          await this.fire(name, missed).catch(() => undefined);
        }
      }
      this.arm(name);
    }
  }

  private anchor(name: string): Date {
    const st = this.state[name]!;
    return new Date(st.lastTickAt ?? st.since ?? this.now().toISOString());
  }

  private arm(name: string): void {
    clearTimeout(this.timers.get(name));
    if (!this.running) return;
    const s = this.parsed.get(name)!;
    const now = this.now();
    const at = nextFireTime(s, now, this.anchor(name));
    this.next.set(name, at);
    if (!at) return;
    const delay = at.getTime() - now.getTime();
    const timer = setTimeout(
      () => {
        if (this.now().getTime() + 5 < at.getTime()) {
          this.arm(name); // a long wait was capped at the timer maximum; look again
          return;
        }
        void this.fire(name, at)
          .catch(() => undefined)
          .finally(() => this.arm(name));
      },
      Math.min(Math.max(delay, 0), MAX_TIMER_MS),
    );
    timer.unref();
    this.timers.set(name, timer);
  }

  private async fire(name: string, tick: Date): Promise<{ messageId: string }> {
    const st = this.state[name]!;
    st.lastTickAt = tick.toISOString();
    return this.sendFor(name, tick);
  }

  private async sendFor(name: string, at: Date): Promise<{ messageId: string }> {
    const def = this.opts.schedules[name]!;
    const body = JSON.stringify({ ...def.message, scheduledAt: at.toISOString() });
    try {
      const sent = await this.opts.send(def.queue, body);
      this.state[name]!.lastRunAt = this.now().toISOString();
      this.opts.log.info(`schedule ${name} sent ${sent.messageId} to ${def.queue} (scheduledAt ${at.toISOString()})`);
      return sent;
    } catch (err) {
      this.opts.log.error(`schedule ${name} could not send to ${def.queue}: ${errorMessage(err)}`);
      throw err;
    } finally {
      await this.file.save().catch((err) => this.opts.log.error(`could not save schedule state: ${errorMessage(err)}`));
    }
  }

  /** Fires `name` now, with scheduledAt = now; does not move the schedule's ticks. */
  async runNow(name: string): Promise<{ fired: string; messageId: string }> {
    if (!this.parsed.has(name)) throw new UnknownScheduleError(name);
    this.state[name] ??= {};
    const { messageId } = await this.sendFor(name, this.now());
    return { fired: name, messageId };
  }

  has(name: string): boolean {
    return this.parsed.has(name);
  }

  info(): Record<string, ScheduleInfo> {
    const out: Record<string, ScheduleInfo> = {};
    for (const [name, def] of Object.entries(this.opts.schedules)) {
      const next = this.running ? (this.next.get(name) ?? null) : null;
      out[name] = {
        expression: def.expression,
        queue: def.queue,
        lastRunAt: this.state[name]?.lastRunAt ?? null,
        nextRunAt: next ? next.toISOString() : null,
      };
    }
    return out;
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.file.save().catch(() => undefined);
  }
}
