// A handover moves the user's open tasks with the customers (jobs worker against DynamoDB Local): each open task once,
// with its audit entry; done tasks and other users' tasks stay; a repeated delivery changes nothing.
import type { Context } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { jobsWorker } from "../../functions/workers/jobs-worker.ts";
import { getJobItem } from "../../shared/domain/jobs/repository.ts";
import type { JobMessage } from "../../shared/domain/jobs/schemas.ts";
import { startHandover } from "../../shared/domain/org/handover.ts";
import { TaskListQuerySchema, TaskPatchSchema } from "../../shared/domain/tasks/schemas.ts";
import { createTask, listTasks, patchTask } from "../../shared/domain/tasks/service.ts";
import { aCaller } from "../support/builders.ts";
import { sqsEvent } from "../support/job-events.ts";
import { newCustomer } from "../support/orders.ts";

const context = { getRemainingTimeInMillis: () => 60_000, awsRequestId: "r" } as Context;

describe("handover of open tasks", () => {
  it("reassigns every open task of the user to the other user, once", async () => {
    const admin = aCaller();
    const c = await newCustomer(admin, { ownerId: "u-a" });
    const other = await newCustomer(admin, { ownerId: "u-c" });
    const due = new Date(Date.now() + 86_400_000).toISOString();
    const mk = async (customerId: string, assigneeId: string) =>
      (
        (await createTask(admin, { customerId, title: "跟进", dueAt: due, priority: "normal", assigneeId }, undefined))
          .body as { id: string }
      ).id;
    const open = await Promise.all([mk(c.id, "u-a"), mk(c.id, "u-a"), mk(other.id, "u-a")]);
    const done = await mk(c.id, "u-a");
    await patchTask(admin, done, TaskPatchSchema.parse({ status: "done" }), 1);
    const foreign = await mk(other.id, "u-c");

    const sent: JobMessage[] = [];
    const { jobId } = await startHandover(admin, "u-a", { toUserId: "u-b" }, "req", async (m) => void sent.push(m));
    const worker = jobsWorker({ continueJob: async () => {} });
    await worker(sqsEvent(sent[0]!, 1, "m1"), context);
    await worker(sqsEvent(sent[0]!, 1, "m2"), context);

    const list = async (assignee: string, status = "open") =>
      (await listTasks(admin, TaskListQuerySchema.parse({ assignee, status }))).items.map((t) => t.id).sort();
    expect(await list("u-b")).toEqual([...open].sort());
    expect(await list("u-a")).toEqual([]);
    expect(await list("u-a", "done")).toEqual([done]);
    expect(await list("u-c")).toEqual([foreign]);
    const job = await getJobItem(admin.tenant, jobId);
    // One customer of u-a and its three open tasks.
    expect(job).toMatchObject({ status: "succeeded", total: 4 });
    expect(job!.counts.moved).toBe(4);
  });
});
