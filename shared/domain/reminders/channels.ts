// Delivery of a fired reminder beyond the in-app inbox: a webhook signed with HMAC-SHA256, and e-mail (logged).
import { createHmac } from "node:crypto";
import { logger } from "../../log/logger.ts";
import type { CustomerItem } from "../customers/repository.ts";
import type { Notification, ReminderRule } from "./schemas.ts";

/** What goes out: the channel and the exact body (tests capture these instead of sending). */
export interface Outgoing {
  channel: "webhook" | "email";
  url?: string;
  to?: string[];
  headers: Record<string, string>;
  body: string;
}

export type Delivery = (msg: Outgoing) => Promise<void>;

/** The signature header a receiver checks: `sha256=` + hex HMAC of `<timestamp>.<body>` under the rule's secret. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

const WEBHOOK_TIMEOUT_MS = 5_000;

/** Sends over HTTP (webhooks) and logs e-mails. */
export const defaultDelivery: Delivery = async (msg) => {
  if (msg.channel === "email") {
    logger.info("reminder e-mail (logged, not sent)", { to: msg.to, body: msg.body });
    return;
  }
  const res = await fetch(msg.url!, {
    method: "POST",
    headers: msg.headers,
    body: msg.body,
    signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
  });
  if (!res.ok) throw new Error(`webhook answered ${res.status}`);
};

/**
 * Delivers a reminder that has just been stored to the rule's other channels. Best effort, after the transaction:
 * a failure is logged and never undoes or repeats the reminder (the inbox holds it either way).
 */
export async function deliver(
  send: Delivery | undefined,
  rule: ReminderRule,
  n: Notification,
  c: CustomerItem,
): Promise<void> {
  const payload = JSON.stringify({
    type: "reminder",
    id: n.id,
    ruleId: rule.id,
    rule: rule.name,
    period: n.period,
    customer: { id: c.id, name: c.name, code: c.code },
    taskId: n.taskId,
    assigneeId: n.userId,
    createdAt: n.createdAt,
  });
  for (const ch of rule.channels) {
    let msg: Outgoing | undefined;
    if (ch.type === "webhook") {
      const ts = String(Math.floor(Date.parse(n.createdAt) / 1000));
      msg = {
        channel: "webhook",
        url: ch.url,
        headers: {
          "content-type": "application/json",
          "x-reminder-id": n.id,
          "x-reminder-timestamp": ts,
          "x-reminder-signature": signature(ch.secret, ts, payload),
        },
        body: payload,
      };
    } else if (ch.type === "email") {
      msg = { channel: "email", to: ch.to ?? [n.userId], headers: { subject: n.title }, body: payload };
    }
    if (!msg) continue;
    try {
      await (send ?? defaultDelivery)(msg);
    } catch (err) {
      logger.warn("reminder delivery failed; the inbox holds it", {
        channel: msg.channel,
        id: n.id,
        error: err as Error,
      });
    }
  }
}
