// Reminder e-mail in the synthesized stack: with context emailSender, the reminders worker (and no other function)
// may call ses:SendEmail on the sender's SES identities only and gets EMAIL_DELIVERY=ses and EMAIL_SENDER; without
// it, nothing may send e-mail and the worker logs (its env says nothing about SES).
import { describe, expect, it } from "vitest";
import { MANIFEST } from "../../infra/stacks/api-stack.ts";
import { functionsOf, policyStatementsOf } from "./inspect.ts";
import { synthApp } from "./support.ts";

const SENDER = "reminders@crm.example.com";
const withSes = synthApp({ context: { emailSender: SENDER } });
const without = synthApp();

/** The identity ARN as the template writes it (Fn::Join over partition, region and account). */
const arnText = (arn: unknown) => JSON.stringify(arn);

describe("reminder e-mail through SES", () => {
  it("grants ses:SendEmail on the sender's identities to the reminders worker only", () => {
    const fns = functionsOf(withSes.api);
    const worker = fns.find((f) => f.entry === MANIFEST.queues.reminders!.worker)!;
    const ses = policyStatementsOf(withSes.api).filter((s) => s.actions.some((a) => a.startsWith("ses:")));
    expect(ses).toHaveLength(1);
    expect(ses[0]!.actions).toEqual(["ses:SendEmail"]);
    expect(ses[0]!.roleIds).toEqual([worker.roleId]);
    const resources = ses[0]!.resources.map(arnText);
    expect(resources).toHaveLength(2);
    expect(resources.filter((r) => r.includes(`:identity/${SENDER}"`))).toHaveLength(1);
    expect(resources.filter((r) => r.includes(':identity/crm.example.com"'))).toHaveLength(1);
    for (const r of resources) expect(r).not.toContain("*");
  });

  it("tells the reminders worker to send through SES and from whom", () => {
    const fns = functionsOf(withSes.api);
    const worker = fns.find((f) => f.entry === MANIFEST.queues.reminders!.worker)!;
    expect(worker.resource.Properties.Environment.Variables).toMatchObject({
      EMAIL_DELIVERY: "ses",
      EMAIL_SENDER: SENDER,
    });
    for (const f of fns.filter((x) => x !== worker)) {
      expect(f.resource.Properties.Environment.Variables.EMAIL_DELIVERY, f.entry).toBeUndefined();
    }
  });

  it("without a sender nothing may send e-mail and the worker logs instead", () => {
    const ses = policyStatementsOf(without.api).filter((s) => s.actions.some((a) => a.startsWith("ses:")));
    expect(ses).toEqual([]);
    const worker = functionsOf(without.api).find((f) => f.entry === MANIFEST.queues.reminders!.worker)!;
    expect(worker.resource.Properties.Environment.Variables.EMAIL_DELIVERY).toBeUndefined();
  });

  it("refuses a sender that is not an address", () => {
    expect(() => synthApp({ context: { emailSender: "not-an-address" } })).toThrow(/not an e-mail address/);
  });
});
