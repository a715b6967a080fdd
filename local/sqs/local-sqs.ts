// The local SQS: one MessageQueue per manifest queue plus its `<name>-dlq`, each worker fed by an EventSource.
import { join } from "node:path";
import type { QueueDef } from "../../functions/manifest.ts";
import { LOCAL_ACCOUNT_ID, LOCAL_REGION, localFunctionName } from "../lambda/context.ts";
import { type LocalLog, errorMessage } from "../util/log.ts";
import { EventSource, type SqsHandler } from "./event-source.ts";
import { MessageQueue, type QueueStats, type SendInput, type StoredMessage } from "./queue.ts";

export interface LocalSqsOptions {
  /** Directory of the queue snapshots (`<dataDir>/queues`). */
  dir: string;
  queues: Record<string, QueueDef>;
  /** Base of the queue URLs: the SQS endpoint, e.g. http://127.0.0.1:4566. */
  endpoint: string;
  /** Multiplies every visibility timeout (6 x the worker's timeout); < 1 makes retries quick in tests. */
  visibilityScale?: number;
  /** Loads a worker's handler by manifest entry. */
  loadHandler: (entry: string) => Promise<SqsHandler>;
  log: LocalLog;
  /** Concurrent batches per queue. */
  maxConcurrency?: number;
}

export interface QueueInfo extends QueueStats {
  url: string;
  dlq: number;
  dlqUrl: string;
}

export const dlqName = (name: string) => `${name}-dlq`;

export class LocalSqs {
  private readonly byName = new Map<string, MessageQueue>();
  private readonly sources = new Map<string, EventSource>();
  private stopped: Promise<void> | undefined;

  private constructor(private readonly opts: LocalSqsOptions) {}

  static async open(opts: LocalSqsOptions): Promise<LocalSqs> {
    const sqs = new LocalSqs(opts);
    const scale = opts.visibilityScale ?? 1;
    for (const [name, def] of Object.entries(opts.queues)) {
      const dlq = await sqs.openQueue(dlqName(name));
      const queue = await sqs.openQueue(name);
      queue.redrive = { target: dlq, maxReceiveCount: def.maxReceiveCount };
      queue.onDeadLetter = (m: StoredMessage, target) =>
        opts.log.warn(
          `${name}: message ${m.messageId} moved to ${target.name} after ${m.receiveCount} receives (maxReceiveCount ${def.maxReceiveCount}); last error: ${m.lastError ?? "unknown"}`,
        );
      sqs.sources.set(
        name,
        new EventSource(queue, {
          functionName: localFunctionName("worker", name),
          batchSize: def.batchSize,
          visibilityTimeoutMs: Math.max(1, Math.round(6 * def.timeoutSeconds * 1000 * scale)),
          functionTimeoutMs: def.timeoutSeconds * 1000,
          maxConcurrency: opts.maxConcurrency,
          loadHandler: () => opts.loadHandler(def.worker),
          log: opts.log,
        }),
      );
    }
    return sqs;
  }

  private async openQueue(name: string): Promise<MessageQueue> {
    const q = await MessageQueue.open({
      name,
      arn: `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${name}`,
      url: `${this.opts.endpoint}/${LOCAL_ACCOUNT_ID}/${name}`,
      file: join(this.opts.dir, `${name}.json`),
    });
    q.onPersistError = (err) => this.opts.log.error(`could not save queue ${name}: ${errorMessage(err)}`);
    this.byName.set(name, q);
    return q;
  }

  /** Starts delivering messages to the workers. */
  start(): void {
    for (const s of this.sources.values()) s.start();
  }

  /**
   * Stops delivery, waits up to `graceMs` for running batches, and writes every queue to disk; idempotent.
   * Messages of a batch still running stay in the queue and come back after their visibility timeout.
   */
  stop(opts: { graceMs?: number } = {}): Promise<void> {
    this.stopped ??= (async () => {
      await Promise.all([...this.sources.values()].map((s) => s.stop(opts.graceMs)));
      await Promise.all([...this.byName.values()].map((q) => q.close()));
    })();
    return this.stopped;
  }

  /** Last-resort synchronous save for the process `exit` hook. */
  saveSync(): void {
    for (const q of this.byName.values()) {
      try {
        q.saveSync();
      } catch {
        /* exiting anyway */
      }
    }
  }

  /** Every queue, DLQs included, by name. */
  get names(): string[] {
    return [...this.byName.keys()];
  }

  queue(name: string): MessageQueue | undefined {
    return this.byName.get(name);
  }

  /** Finds a queue by URL (any host: only the account/name path matters) or by bare name. */
  resolve(urlOrName: string): MessageQueue | undefined {
    const m = /\/(\d{12})\/([^/?#]+)\/?$/.exec(urlOrName);
    return this.byName.get(m ? decodeURIComponent(m[2]!) : urlOrName);
  }

  /** The URL of each manifest queue by logical name (what QUEUE_URLS carries). */
  urls(): Record<string, string> {
    return Object.fromEntries(Object.keys(this.opts.queues).map((n) => [n, this.byName.get(n)!.url]));
  }

  async send(name: string, input: SendInput): Promise<StoredMessage> {
    const q = this.byName.get(name);
    if (!q) throw new Error(`no local queue named ${name}`);
    return q.send(input);
  }

  stats(): Record<string, QueueInfo> {
    const out: Record<string, QueueInfo> = {};
    for (const name of Object.keys(this.opts.queues)) {
      const q = this.byName.get(name)!;
      const dlq = this.byName.get(dlqName(name))!;
      out[name] = { url: q.url, ...q.stats(), dlq: dlq.stats().total, dlqUrl: dlq.url };
    }
    return out;
  }

  /** Handler invocations per queue so far. */
  invocations(name: string): number {
    return this.sources.get(name)?.invocations ?? 0;
  }

  /**
   * Resolves when no worker is running and nothing is ready to deliver (messages waiting for a visibility timeout
   * or a delay do not count), or, with `untilEmpty`, when the queues hold no message at all outside their DLQs.
   */
  async waitIdle(opts: { timeoutMs?: number; untilEmpty?: boolean; queues?: string[] } = {}): Promise<void> {
    const names = opts.queues ?? [...this.sources.keys()];
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    const settled = () =>
      names.every((n) => {
        const s = this.sources.get(n);
        const q = this.byName.get(n);
        if (!s || !q) return true;
        return s.active === 0 && (opts.untilEmpty ? q.stats().total === 0 : q.stats().visible === 0);
      });
    // Two consecutive idle looks, so a message between a worker's finish and the next pump is not missed.
    let streak = 0;
    while (streak < 2) {
      await new Promise((r) => setTimeout(r, 10));
      streak = settled() ? streak + 1 : 0;
      if (Date.now() > deadline)
        throw new Error(`queues ${names.join(", ")} still busy after ${opts.timeoutMs ?? 30_000} ms`);
    }
  }
}
