// Order test helpers: a customer, an order with given unit prices, retrying on contention like a client.
import type { Caller } from "../../shared/auth/claims.ts";
import { CustomerCreateSchema, type Customer } from "../../shared/domain/customers/schemas.ts";
import { createCustomer } from "../../shared/domain/customers/service.ts";
import { OrderCreateSchema } from "../../shared/domain/orders/schemas.ts";
import { createOrder } from "../../shared/domain/orders/service.ts";
import { ConflictError } from "../../shared/http/errors.ts";
import { aCustomerInput } from "./builders.ts";

export const newCustomer = async (caller: Caller, o: Record<string, unknown> = {}) =>
  (await createCustomer(caller, CustomerCreateSchema.parse(aCustomerInput(o)), undefined)).body as Customer;

export const newOrder = (caller: Caller, customerId: string, prices: string[]) =>
  createOrder(
    caller,
    OrderCreateSchema.parse({
      customerId,
      lines: prices.map((p, i) => ({ sku: `S${i}`, name: `item ${i}`, quantity: i + 1, unitPrice: p })),
    }),
  );

/** Retries what a client retries: a 409 for contention (never for an illegal transition). */
export async function retrying<T>(f: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await f();
    } catch (err) {
      const contention =
        err instanceof ConflictError && /try again|changed by someone else|meanwhile/.test(err.message);
      if (!contention || i >= 20) throw err;
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
    }
  }
}
