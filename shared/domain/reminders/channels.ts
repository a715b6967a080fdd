// Delivery of a fired reminder beyond the in-app inbox: a webhook signed with HMAC-SHA256, and e-mail (through SES
// in the cloud, at most once per reminder and channel; logged locally: EMAIL_DELIVERY decides).
import { createHmac } from "node:crypto";
import * as z from "zod";
import { env } from "../../config/env.ts";
import { logger } from "../../log/logger.ts";
import { sendReminderEmail } from "./email.ts";
import type { SendKey } from "./repository.ts";
import type { CustomerItem } from "../customers/repository.ts";
import type { Notification, ReminderRule } from "./schemas.ts";

/** What goes out: the channel and the exact body (tests capture these instead of sending). */
export interface Outgoing {
  channel: "webhook" | "email";
  tenant: string;
  url?: string;
  to?: string[];
  /** E-mail: the subject line. */
  subject?: string;
  /** E-mail: which reminder and channel it is (the send record's key). */
  sendKey?: SendKey;
  headers: Record<string, string>;
  /** The webhook's JSON body, or the e-mail's plain text. */
  body: string;
}

export type Delivery = (msg: Outgoing) => Promise<void>;

/** The signature header a receiver checks: `sha256=` + hex HMAC of `<timestamp>.<body>` under the rule's secret. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

const WEBHOOK_TIMEOUT_MS = 5_000;

const isEmail = (s: string) => z.email().safeParse(s).success;

/** Sends webhooks over HTTP; e-mails through SES once (EMAIL_DELIVERY=ses, the cloud) or to the log (locally). */
export const defaultDelivery: Delivery = async (msg) => {
  if (msg.channel === "email") {
    if (env.EMAIL_DELIVERY !== "ses") {
      logger.info("reminder e-mail (logged, not sent)", { to: msg.to, subject: msg.subject, body: msg.body });
      return;
    }
    // Without `to`, the assignee is the recipient; a user id that is not an address cannot be mailed.
    const to = (msg.to ?? []).filter(isEmail);
    if (!to.length) {
      logger.warn("reminder e-mail has no address to go to (set `to` on the rule's email channel)", { to: msg.to });
      return;
    }
    await sendReminderEmail({ tenant: msg.tenant, key: msg.sendKey!, to, subject: msg.subject ?? "", text: msg.body });
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
  tenant: string,
  rule: ReminderRule,
  n: Notification,
  c: CustomerItem,
  only?: "email",
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
  for (const [index, ch] of rule.channels.entries()) {
    let msg: Outgoing | undefined;
    if (only && ch.type !== only) continue;
    if (ch.type === "webhook") {
      const ts = String(Math.floor(Date.parse(n.createdAt) / 1000));
      msg = {
        channel: "webhook",
        tenant,
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
      msg = {
        channel: "email",
        tenant,
        to: ch.to ?? [n.userId],
        subject: n.title,
        sendKey: { ruleId: rule.id, customerId: c.id, period: n.period ?? "", channel: index },
        headers: {},
        body: emailText(rule, n, c),
      };
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

/** The plain-text body of a reminder e-mail. */
export function emailText(rule: ReminderRule, n: Notification, c: CustomerItem): string {
  return [
    n.title,
    "",
    `Rule: ${rule.name}`,
    `Customer: ${c.name}${c.code ? ` (${c.code})` : ""}`,
    `Task: ${n.taskId}`,
    `Period: ${n.period ?? ""}`,
    `Assignee: ${n.userId}`,
    `Created: ${n.createdAt}`,
  ].join("\n");
}
