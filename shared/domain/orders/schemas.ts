// Order request and response schemas: amounts are decimal strings at the edge and integer fen inside.
import * as z from "zod";
import { moneySchema } from "../money.ts";
import { ORDER_STATUSES } from "./status.ts";

export const MAX_LINES = 200;

const Sku = z.string().trim().min(1).max(64);
/** Quantities are whole units (a positive integer up to 1,000,000), so line amounts stay exact in fen. */
const Quantity = z.number().int("quantity is a whole number").positive("quantity must be positive").max(1_000_000);

/** One order line as the API takes it (the orders import validates each row's line with it too). */
export const OrderLineSchema = z.strictObject({
  sku: Sku,
  name: z.string().trim().min(1).max(200),
  quantity: Quantity,
  unitPrice: moneySchema(),
});

const Lines = z
  .array(OrderLineSchema)
  .min(1, "an order has at least one line")
  .max(MAX_LINES, `an order has at most ${MAX_LINES} lines`)
  .superRefine((lines, ctx) => {
    const seen = new Set<string>();
    lines.forEach((l, i) => {
      if (seen.has(l.sku)) ctx.addIssue({ code: "custom", path: [i, "sku"], message: "each sku appears once" });
      seen.add(l.sku);
    });
  });

export const OrderCreateSchema = z.strictObject({
  customerId: z.string().min(1).max(64),
  lines: Lines,
  note: z.string().max(2000).optional(),
});
export type OrderCreate = z.output<typeof OrderCreateSchema>;

export const OrderPatchSchema = z.strictObject({
  lines: Lines.optional(),
  note: z.string().max(2000).nullable().optional(),
  version: z.number().int().min(1).optional(),
});
export type OrderPatch = z.output<typeof OrderPatchSchema>;

export const ActionBodySchema = z
  .strictObject({
    reason: z.string().max(500).optional(),
    /** Return only: the lines and quantities going back; absent = everything not yet returned. */
    lines: z
      .array(z.strictObject({ sku: Sku, quantity: Quantity }))
      .min(1)
      .max(MAX_LINES)
      .optional(),
    version: z.number().int().min(1).optional(),
  })
  .default({});
export type ActionBody = z.output<typeof ActionBodySchema>;

export const PaymentSchema = z.strictObject({
  amount: moneySchema({ positive: true }),
  at: z.iso.datetime({ offset: true }).optional(),
  method: z.string().trim().min(1).max(32).optional(),
});
export type PaymentInput = z.output<typeof PaymentSchema>;

export const OrderListQuerySchema = z.strictObject({
  customerId: z.string().min(1).max(64).optional(),
  status: z.enum(ORDER_STATUSES).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(4096).optional(),
});
export type OrderListQuery = z.output<typeof OrderListQuerySchema>;
