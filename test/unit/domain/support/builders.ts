// Builders for callers, stored customers and contacts, and DynamoDB transaction failures, so each test states only what it is about.
import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import type { TransactWriteCommandInput } from "@aws-sdk/lib-dynamodb";
import type { Caller } from "../../../../shared/auth/claims.ts";
import { newId } from "../../../../shared/db/ids.ts";
import type { Contact } from "../../../../shared/domain/contacts/schemas.ts";
import { customerKeys } from "../../../../shared/domain/customers/keys.ts";
import type { CustomerItem } from "../../../../shared/domain/customers/repository.ts";
import { searchTokens } from "../../../../shared/domain/validation/index.ts";

/** A unique tenant id per call, so no test can pass by reading another test's data. */
export function aTenant(): string {
  return `t-${newId().toLowerCase()}`;
}

/** A caller with the admin role in a fresh tenant. */
export function aCaller(overrides: Partial<Caller> = {}): Caller {
  return { tenant: aTenant(), userId: "u-alice", roles: ["admin"], dept: undefined, ...overrides };
}

/** A live customer profile as DynamoDB stores it (keys, search tokens and all). */
export function aCustomerItem(tenant: string, overrides: Partial<CustomerItem> = {}): CustomerItem {
  const id = overrides.id ?? newId();
  const name = overrides.name ?? "杭州西湖贸易有限公司";
  const code = overrides.code ?? "C2026000001";
  return {
    PK: customerKeys.pk(tenant, id),
    SK: customerKeys.profileSk(),
    entity: "customer",
    id,
    code,
    name,
    type: "enterprise",
    ownerId: "u-alice",
    stage: "potential",
    categories: {},
    stats: { contactCount: 3, orderCount: 7 },
    version: 4,
    createdAt: "2026-01-02T03:04:05.000Z",
    updatedAt: "2026-01-02T03:04:05.000Z",
    createdBy: "u-alice",
    updatedBy: "u-alice",
    searchTokens: searchTokens(name, code),
    ...overrides,
  } as CustomerItem;
}

/** A contact of `customerId` as stored (the API shape; the repository strips PK/SK/entity). */
export function aContact(customerId: string, overrides: Partial<Contact> = {}): Contact {
  return {
    id: newId(),
    customerId,
    name: "王小明",
    isPrimary: false,
    version: 2,
    createdAt: "2026-01-02T03:04:05.000Z",
    updatedAt: "2026-01-02T03:04:05.000Z",
    createdBy: "u-alice",
    updatedBy: "u-alice",
    ...overrides,
  };
}

/** The exception DynamoDB raises when a transaction is cancelled, with one reason per item. */
export function transactionCancelled(codes: string[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(", ")}]`,
    $metadata: {},
    CancellationReasons: codes.map((Code) =>
      Code === "ConditionalCheckFailed" ? { Code, Message: "The conditional request failed" } : { Code },
    ),
  });
}

export type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

/** Behaves like DynamoDB when the condition of the item(s) picked by `failing` does not hold. */
export function cancelWhere(
  input: TransactWriteCommandInput,
  failing: (item: TransactItem) => boolean,
): Promise<never> {
  const items = input.TransactItems ?? [];
  if (!items.some(failing))
    return Promise.reject(new Error("test setup: no transaction item matches the failing condition"));
  return Promise.reject(transactionCancelled(items.map((i) => (failing(i) ? "ConditionalCheckFailed" : "None"))));
}

/** The partition key a transaction item writes, whatever its kind. */
export function pkOf(item: TransactItem): string {
  const key = item.Put?.Item ?? item.Update?.Key ?? item.Delete?.Key ?? item.ConditionCheck?.Key;
  return String(key?.PK);
}

/** Every key-like attribute a transaction item writes or addresses (PK and the GSI partition keys). */
export function partitionKeysOf(item: TransactItem): string[] {
  const out = [pkOf(item)];
  const put = item.Put?.Item;
  for (const k of ["GSI1PK", "GSI2PK", "GSI3PK"]) if (put && typeof put[k] === "string") out.push(put[k] as string);
  return out;
}
