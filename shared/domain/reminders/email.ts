// Reminder e-mail through Amazon SES, at most once per reminder and channel: the send is claimed in DynamoDB before
// the SES call and recorded after it, so a retried message, an overlapping tick or a repeat after a crash that
// reaches the same reminder finds the record and sends nothing.
import { SendEmailCommand } from "@aws-sdk/client-sesv2";
import { env } from "../../config/env.ts";
import { ses } from "../../email/client.ts";
import { logger } from "../../log/logger.ts";
import { claimSend, markSent, releaseSend, type SendKey } from "./repository.ts";

export interface ReminderEmail {
  tenant: string;
  key: SendKey;
  to: string[];
  subject: string;
  text: string;
}

/**
 * Sends the e-mail unless it was sent (or is being sent) already. Resolves "sent" or "skipped"; a failed SES call
 * gives the claim back (a later attempt may send) and rejects.
 */
export async function sendReminderEmail(
  mail: ReminderEmail,
  now: () => Date = () => new Date(),
): Promise<"sent" | "skipped"> {
  const claimedAt = now();
  if (!(await claimSend(mail.tenant, mail.key, claimedAt))) {
    logger.info("reminder e-mail already sent (or being sent); not sent again", { ...mail.key });
    return "skipped";
  }
  let messageId: string;
  try {
    const out = await ses.send(
      new SendEmailCommand({
        FromEmailAddress: env.EMAIL_SENDER,
        Destination: { ToAddresses: mail.to },
        Content: {
          Simple: {
            Subject: { Data: mail.subject, Charset: "UTF-8" },
            Body: { Text: { Data: mail.text, Charset: "UTF-8" } },
          },
        },
      }),
    );
    messageId = out.MessageId ?? "";
  } catch (err) {
    await releaseSend(mail.tenant, mail.key, claimedAt);
    throw err;
  }
  await markSent(mail.tenant, mail.key, messageId, now());
  return "sent";
}
