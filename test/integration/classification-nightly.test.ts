// The nightly sweep against DynamoDB Local: every registered tenant gets one classify job a day however often the tick
// arrives, and the job turns quiet customers dormant by their categories' thresholds.
import type { Context } from "aws-lambda";
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { RUNNERS } from "../../functions/workers/jobs-worker.ts";
import { env } from "../../shared/config/env.ts";
import { ddb } from "../../shared/db/client.ts";
import { runNightlyClassification } from "../../shared/domain/classification/nightly.ts";
import { SchemeInputSchema } from "../../shared/domain/classification/schemas.ts";
import { putScheme } from "../../shared/domain/classification/service.ts";
import { queryAudit } from "../../shared/domain/audit/audit.ts";
import { customerKeys } from "../../shared/domain/customers/keys.ts";
import { CustomerPatchSchema } from "../../shared/domain/customers/schemas.ts";
import { getCustomer, patchCustomer } from "../../shared/domain/customers/service.ts";
import { getJobItem } from "../../shared/domain/jobs/repository.ts";
import { processJobMessage } from "../../shared/domain/jobs/runner.ts";
import type { JobMessage } from "../../shared/domain/jobs/schemas.ts";
import { listTenants } from "../../shared/domain/tenants/registry.ts";
import { aCaller } from "../support/builders.ts";
import { newCustomer } from "../support/orders.ts";

const plenty = { getRemainingTimeInMillis: () => 60_000 } as Pick<Context, "getRemainingTimeInMillis">;
const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000).toISOString();

describe("nightly classification", () => {
  it("starts one job per tenant and day, however often the tick comes, and turns quiet customers dormant", async () => {
    const [a, b] = [aCaller(), aCaller()];
    const quiet = await newCustomer(a, { stage: "formal" });
    const active = await newCustomer(a, { stage: "formal" });
    await newCustomer(b);
    expect(await listTenants()).toEqual(expect.arrayContaining([a.tenant, b.tenant]));

    // Small customers turn dormant after 30 quiet days. The quiet one last heard from 45 days ago, the other 10.
    const size = SchemeInputSchema.parse({
      name: "规模",
      rules: [{ value: "large", when: { field: "stats.netAmount", op: "gte", value: "1000000.00" } }],
      default: "small",
      dormancyDays: { small: 30 },
    });
    await putScheme(a, "size", size, 1);
    for (const [c, at] of [
      [quiet, daysAgo(45)],
      [active, daysAgo(10)],
    ] as const) {
      await ddb.send(
        new UpdateCommand({
          TableName: env.TABLE_NAME,
          Key: { PK: customerKeys.pk(a.tenant, c.id), SK: customerKeys.profileSk() },
          UpdateExpression: "SET stats.lastInteractionAt = :at",
          ExpressionAttributeValues: { ":at": at },
        }),
      );
    }

    const sent: JobMessage[] = [];
    const ours = (t: string) => t === a.tenant || t === b.tenant;
    const tick = new Date().toISOString();
    const send = async (m: JobMessage) => void sent.push(m);
    await Promise.all([
      runNightlyClassification(tick, { send, only: ours }),
      runNightlyClassification(tick, { send, only: ours }),
    ]);
    await runNightlyClassification(tick, { send, only: ours });
    expect(sent.map((m) => m.tenant).sort()).toEqual([a.tenant, b.tenant].sort());

    const job = sent.find((m) => m.tenant === a.tenant)!;
    const result = await processJobMessage(
      job,
      plenty,
      { receiveCount: 1, maxReceiveCount: 5 },
      {
        runners: RUNNERS,
        continueJob: async () => undefined,
      },
    );
    expect(result).toBe("succeeded");
    expect((await getJobItem(a.tenant, job.jobId))?.counts).toMatchObject({ dormant: 1 });
    expect((await getCustomer(a, quiet.id)).stage).toBe("dormant");
    expect((await getCustomer(a, active.id)).stage).toBe("formal");
    const audit = await queryAudit(a.tenant, { entityId: quiet.id, limit: 10 });
    expect(audit.items.some((e) => e.actor === "system" && (e.after as { stage?: string }).stage === "dormant")).toBe(
      true,
    );
    // A dormant customer comes back to formal by hand (an allowed move).
    const now = await getCustomer(a, quiet.id);
    const back = await patchCustomer(a, quiet.id, CustomerPatchSchema.parse({ stage: "formal" }), now.version);
    expect(back.stage).toBe("formal");
  });
});
