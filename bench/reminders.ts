// Benchmark of the reminder tick on DynamoDB Local: a tenant with BENCH_CUSTOMERS customers (default 100k, last
// activity spread over a year, classes A/B/C, some with a contract end date) and 10 rules. Measures the first tick
// (every rule planned from scratch: all overdue customers fired, date rules planned), a steady tick (same day,
// nothing new), and the next day's tick (one day's worth of customers becomes due), with the DynamoDB requests and
// consumed capacity of each. Run: node --openssl-legacy-provider --import tsx bench/reminders.ts
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";

process.env.LOG_LEVEL = "SILENT";
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 100_000);
/** The simulated Lambda's time per invocation; a run that needs more continues in a new "message". */
const INVOCATION_MS = Number(process.env.BENCH_INVOCATION_MS ?? 100_000);
/** Last activities are spread over this many past days (365: a year's backlog for the first tick to fire). */
const SPREAD_DAYS = Number(process.env.BENCH_SPREAD_DAYS ?? 365);
/** BENCH_BIRTHDAYS=1: every second customer gets a contact with a birthday, and an 11th rule (7 days before it). */
const BIRTHDAYS = process.env.BENCH_BIRTHDAYS === "1";
const TENANT = "bench-reminders";
const DAY = 86_400_000;

const { startLocal } = await import("../local/runtime.ts");
const dataDir = await mkdtemp(join(tmpdir(), "cm-bench-rem-"));
const local = await startLocal({ port: 0, dataDir, schedulerEnabled: false, accessLog: false });
const { dynamo, ddb } = await import("../shared/db/client.ts");
const { BatchWriteCommand } = await import("@aws-sdk/lib-dynamodb");
const { env } = await import("../shared/config/env.ts");
const { customerKeys } = await import("../shared/domain/customers/keys.ts");
const { activityIndex } = await import("../shared/domain/customers/repository.ts");
const { birthdayIndex } = await import("../shared/domain/contacts/repository.ts");
const { newId } = await import("../shared/db/ids.ts");
const { ReminderRuleInputSchema } = await import("../shared/domain/reminders/schemas.ts");
const { createRule } = await import("../shared/domain/reminders/service.ts");
const { runTenantTick } = await import("../shared/domain/reminders/tick.ts");

const meter = { on: false, requests: 0, read: 0, write: 0, byOp: {} as Record<string, number> };
dynamo.middlewareStack.add(
  (next, context) => async (args) => {
    const input = args.input as Record<string, unknown>;
    if (meter.on) input.ReturnConsumedCapacity = "INDEXES";
    const out = await next(args);
    if (meter.on) {
      meter.requests++;
      const op = String((context as { commandName?: string }).commandName ?? "?").replace(/Command$/, "");
      meter.byOp[op] = (meter.byOp[op] ?? 0) + 1;
      const cc = (out.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
      for (const c of Array.isArray(cc) ? cc : cc ? [cc] : []) {
        const x = c as { CapacityUnits?: number; ReadCapacityUnits?: number; WriteCapacityUnits?: number };
        meter.read += x.ReadCapacityUnits ?? 0;
        meter.write += x.WriteCapacityUnits ?? 0;
        if (x.ReadCapacityUnits === undefined && x.WriteCapacityUnits === undefined) {
          if (/Get|Query|Scan/.test(op)) meter.read += x.CapacityUnits ?? 0;
          else meter.write += x.CapacityUnits ?? 0;
        }
      }
    }
    return out;
  },
  { step: "initialize", name: "benchMeter" },
);

const caller = { tenant: TENANT, userId: "u-admin", roles: ["admin" as const], dept: "d1" };
const now = Date.now();

async function seed() {
  const t0 = performance.now();
  const items = Array.from({ length: CUSTOMERS }, (_, i) => {
    const createdAt = new Date(now - Math.floor(((i * 7919) % SPREAD_DAYS) * DAY + (i % 1000) * 60_000)).toISOString();
    const id = newId(Date.parse(createdAt));
    const level = ["A", "B", "C"][i % 3]!;
    return {
      PK: customerKeys.pk(TENANT, id),
      SK: customerKeys.profileSk(),
      entity: "customer",
      GSI1PK: customerKeys.listPk(TENANT, customerKeys.shard(id, env.LIST_SHARDS)),
      GSI1SK: customerKeys.listSk(id),
      GSI2PK: customerKeys.ownerPk(TENANT, `u-${i % 50}`),
      GSI2SK: customerKeys.ownerSk(id),
      ...activityIndex(TENANT, id, createdAt),
      id,
      code: `B${String(i).padStart(7, "0")}`,
      name: `基准客户${i}`,
      type: "enterprise",
      stage: i % 5 === 0 ? "formal" : "potential",
      level,
      ownerId: `u-${i % 50}`,
      categories: { size: i % 4 === 0 ? "large" : "small" },
      ...(i % 10 === 0
        ? { customFields: { contractEnd: new Date(now + ((i * 31) % 400) * DAY).toISOString().slice(0, 10) } }
        : {}),
      stats: { contactCount: 0 },
      version: 1,
      createdAt,
      updatedAt: createdAt,
      createdBy: "bench",
      updatedBy: "bench",
    };
  });
  const contacts = BIRTHDAYS
    ? items
        .filter((_, i) => i % 2 === 0)
        .map((c, i) => {
          const id = newId(Date.parse(c.createdAt));
          const birthday = `19${String(60 + (i % 40))}-${new Date(now + ((i * 37) % 366) * DAY).toISOString().slice(5, 10)}`;
          return {
            PK: c.PK,
            SK: customerKeys.contactSk(id),
            entity: "contact",
            ...birthdayIndex(TENANT, { id, birthday }),
            id,
            customerId: c.id,
            name: `联系人${i}`,
            birthday: birthday.endsWith("02-29") ? "--02-29" : birthday,
            isPrimary: false,
            version: 1,
            createdAt: c.createdAt,
            updatedAt: c.createdAt,
            createdBy: "bench",
            updatedBy: "bench",
          };
        })
    : [];
  const all: Record<string, unknown>[] = [...items, ...contacts];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (;;) {
        const start = next;
        next += 25;
        if (start >= all.length) return;
        let batch: unknown[] | undefined = all.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } }));
        while (batch?.length) {
          const res: { UnprocessedItems?: Record<string, unknown[]> } = await ddb.send(
            new BatchWriteCommand({ RequestItems: { [env.TABLE_NAME]: batch as never } }),
          );
          batch = res.UnprocessedItems?.[env.TABLE_NAME];
        }
      }
    }),
  );
  return (performance.now() - t0) / 1000;
}

const RULES = [
  { name: "A类30天未联系", when: { field: "level", op: "eq", value: "A" }, trigger: { type: "inactivity", days: 30 } },
  { name: "B类60天未联系", when: { field: "level", op: "eq", value: "B" }, trigger: { type: "inactivity", days: 60 } },
  { name: "C类一年未联系", when: { field: "level", op: "eq", value: "C" }, trigger: { type: "inactivity", days: 365 } },
  { name: "90天未联系", trigger: { type: "inactivity", days: 90 } },
  {
    name: "大客户14天",
    when: { field: "categories.size", op: "eq", value: "large" },
    trigger: { type: "inactivity", days: 14 },
  },
  {
    name: "正式客户半年",
    when: { field: "stage", op: "eq", value: "formal" },
    trigger: { type: "inactivity", days: 180 },
  },
  { name: "发货3天回访", trigger: { type: "after_order", status: "shipped", days: 3 } },
  {
    name: "A类审批7天",
    when: { field: "level", op: "eq", value: "A" },
    trigger: { type: "after_order", status: "approved", days: 7 },
  },
  { name: "合同到期前30天", trigger: { type: "date", field: "customFields.contractEnd", daysBefore: 30 } },
  {
    name: "A类合同到期前7天",
    when: { field: "level", op: "eq", value: "A" },
    trigger: { type: "date", field: "customFields.contractEnd", daysBefore: 7 },
  },
];

async function tick(label: string, at: Date) {
  meter.on = true;
  meter.requests = 0;
  meter.read = 0;
  meter.write = 0;
  meter.byOp = {};
  const t0 = performance.now();
  let invocations = 0;
  const totals = { fired: 0, already: 0, candidates: 0 };
  for (;;) {
    invocations++;
    const started = performance.now();
    const r = await runTenantTick(TENANT, { now: at, timeIsShort: () => performance.now() - started > INVOCATION_MS });
    totals.fired += r.fired;
    totals.already += r.already;
    totals.candidates += r.candidates;
    if (r.status === "done") break;
  }
  const seconds = (performance.now() - t0) / 1000;
  meter.on = false;
  const row = {
    tick: label,
    seconds: Math.round(seconds * 100) / 100,
    invocations,
    ...totals,
    requests: meter.requests,
    readUnits: Math.round(meter.read),
    writeUnits: Math.round(meter.write),
    byOperation: JSON.stringify(meter.byOp),
  };
  console.log(JSON.stringify(row));
  return row;
}

try {
  console.log(`seeding ${CUSTOMERS} customers, last active over ${SPREAD_DAYS} days (${cpus().length} cores)...`);
  console.log(`seeded in ${(await seed()).toFixed(1)} s`);
  const rules = BIRTHDAYS
    ? [...RULES, { name: "联系人生日前7天", trigger: { type: "date", field: "contacts.birthday", daysBefore: 7 } }]
    : RULES;
  for (const r of rules)
    await createRule(caller, ReminderRuleInputSchema.parse({ assignee: "owner", ...r }), undefined);
  const rows = [
    await tick("first (plan all rules from scratch)", new Date(now)),
    await tick("steady (same day, nothing new)", new Date(now + 5 * 60_000)),
    await tick("next day (one day becomes due)", new Date(now + DAY)),
    await tick("steady (next day again)", new Date(now + DAY + 5 * 60_000)),
  ];
  console.table(rows.map(({ byOperation: _b, ...r }) => r));
} finally {
  await local.stop();
  await rm(dataDir, { recursive: true, force: true });
}
