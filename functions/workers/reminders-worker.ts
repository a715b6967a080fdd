// The reminders queue's worker: a schedule tick fans out one message per tenant with reminder rules; a tenant message
// runs that tenant's share of the tick (shared/domain/reminders/tick.ts) and continues itself when time runs short.
import { timeIsShort } from "../../shared/domain/jobs/progress.ts";
import type { Delivery } from "../../shared/domain/reminders/channels.ts";
import { listReminderTenants } from "../../shared/domain/reminders/repository.ts";
import { type ReminderMessage, ReminderMessageSchema } from "../../shared/domain/reminders/schemas.ts";
import { runTenantTick } from "../../shared/domain/reminders/tick.ts";
import { logger } from "../../shared/log/logger.ts";
import { sendMessage } from "../../shared/queue/send.ts";
import { sqsWorker, type SqsWorkerHandler } from "../../shared/queue/worker.ts";

/** The logical queue (functions/manifest.ts). */
export const REMINDERS_QUEUE = "reminders";

export interface RemindersDeps {
  send: (msg: ReminderMessage) => Promise<void>;
  deliver?: Delivery;
  now: () => Date;
}

/** The worker with its ports: tests pass their own `send`, `deliver` and `now`. */
export function remindersWorker(deps: Partial<RemindersDeps> = {}): SqsWorkerHandler {
  const send = deps.send ?? (async (msg: ReminderMessage) => void (await sendMessage(REMINDERS_QUEUE, msg)));
  const now = deps.now ?? (() => new Date());
  return sqsWorker(ReminderMessageSchema, async (msg, record, context) => {
    if (msg.kind === "tick") {
      let start: Record<string, unknown> | undefined;
      let tenants = 0;
      do {
        const page = await listReminderTenants(start);
        for (const tenant of page.tenants) await send({ kind: "tenant", tenant, scheduledAt: msg.scheduledAt });
        tenants += page.tenants.length;
        start = page.next;
      } while (start);
      logger.info("reminder tick fanned out", { tenants, scheduledAt: msg.scheduledAt, messageId: record.messageId });
      return;
    }
    const result = await runTenantTick(msg.tenant, {
      now: now(),
      timeIsShort: () => timeIsShort(context.getRemainingTimeInMillis()),
      ...(deps.deliver ? { deliver: deps.deliver } : {}),
    });
    logger.info("reminder tick of a tenant", { tenant: msg.tenant, ...result, messageId: record.messageId });
    if (result.status === "paused") await send(msg);
  });
}

export const handler = remindersWorker();
