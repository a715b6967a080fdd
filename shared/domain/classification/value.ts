// The customer value score: a weighted model per tenant (recency, frequency, monetary and custom factors) giving
// 0-100 with each factor's contribution, and the value pyramid cut from the score histogram.
import * as z from "zod";
import { readPath } from "../conditions/condition.ts";
import { formatFen, moneySchema } from "../money.ts";

const Weight = z.number().min(0).max(100);

export const ValueModelSchema = z
  .strictObject({
    weights: z.strictObject({ recency: Weight, frequency: Weight, monetary: Weight }),
    /** Days since the last order at which recency reaches 0 (100 on the day of an order, linear in between). */
    recencyDays: z.number().int().min(1).max(3650),
    /** Approved orders that score 100 for frequency (linear below). */
    frequencyCap: z.number().int().min(1).max(100_000),
    /** Net amount (decimal string; fen inside) that scores 100 for monetary (logarithmic below). */
    monetaryCap: moneySchema({ positive: true }),
    /** Custom numeric factors: a custom field scored linearly between min (0) and max (100). */
    custom: z
      .array(
        z.strictObject({
          name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/),
          field: z.string().regex(/^customFields\.[A-Za-z_][A-Za-z0-9_]{0,63}$/, "custom factors read customFields.x"),
          weight: Weight,
          min: z.number(),
          max: z.number(),
        }),
      )
      .max(10)
      .default([]),
    /** Pyramid tiers: the top share and the next share of scored customers (the rest form the base). */
    pyramid: z
      .strictObject({ top: z.number().gt(0).lt(1), next: z.number().gt(0).lt(1) })
      .refine((p) => p.top + p.next < 1, "top + next must be below 1")
      .default({ top: 0.05, next: 0.15 }),
  })
  .refine(
    (m) =>
      m.weights.recency + m.weights.frequency + m.weights.monetary + m.custom.reduce((a, c) => a + c.weight, 0) > 0,
    {
      message: "at least one weight must be above 0",
    },
  )
  .superRefine((m, ctx) =>
    m.custom.forEach((c, i) => {
      if (c.max <= c.min) ctx.addIssue({ code: "custom", path: ["custom", i, "max"], message: "max must exceed min" });
    }),
  );
export type ValueModel = z.output<typeof ValueModelSchema>;

export const DEFAULT_VALUE_MODEL: ValueModel = {
  weights: { recency: 30, frequency: 30, monetary: 40 },
  recencyDays: 365,
  frequencyCap: 24,
  monetaryCap: 100_000_000,
  custom: [],
  pyramid: { top: 0.05, next: 0.15 },
};

export interface ValueScore {
  score: number;
  /** Points each factor adds to the score (they sum to the score, before rounding). */
  factors: Record<string, number>;
}

const DAY = 86_400_000;
const clamp = (x: number) => Math.max(0, Math.min(100, x));
const round1 = (x: number) => Math.round(x * 10) / 10;

/** The score of a stored customer item at `now`. A customer without any order scores 0 on the order factors. */
export function valueScore(item: Record<string, unknown>, model: ValueModel, now: number): ValueScore {
  const stats = (item.stats ?? {}) as Record<string, unknown>;
  const last = typeof stats.lastOrderAt === "string" ? Date.parse(stats.lastOrderAt) : NaN;
  const recency = Number.isNaN(last) ? 0 : clamp(100 * (1 - (now - last) / DAY / model.recencyDays));
  const frequency = clamp((100 * Number(stats.orderCount ?? 0)) / model.frequencyCap);
  const net = Number(stats.totalAmount ?? 0) - Number(stats.returnedAmount ?? 0);
  const cap = model.monetaryCap;
  const monetary = net <= 0 ? 0 : clamp((100 * Math.log1p(net / 100)) / Math.log1p(cap / 100));
  const parts: [string, number, number][] = [
    ["recency", model.weights.recency, recency],
    ["frequency", model.weights.frequency, frequency],
    ["monetary", model.weights.monetary, monetary],
    ...model.custom.map((c): [string, number, number] => {
      const v = readPath(item, c.field);
      const n = typeof v === "number" ? v : Number.NaN;
      return [c.name, c.weight, Number.isNaN(n) ? 0 : clamp((100 * (n - c.min)) / (c.max - c.min))];
    }),
  ];
  const total = parts.reduce((a, [, w]) => a + w, 0);
  const factors: Record<string, number> = {};
  let score = 0;
  for (const [name, w, s] of parts) {
    const points = (w * s) / total;
    factors[name] = round1(points);
    score += points;
  }
  return { score: Math.round(score), factors };
}

export type Tier = "top" | "next" | "base";

/**
 * Cuts the pyramid from a score histogram (count per score 0..100): the top tier holds the highest scores up to the
 * `top` share of customers, then `next`; ties at a cut stay together in the higher tier. Returns each tier's lowest
 * score and count.
 */
export function pyramidOf(histogram: Map<number, number>, shares: { top: number; next: number }) {
  const total = [...histogram.values()].reduce((a, b) => a + b, 0);
  const tiers = {
    top: { minScore: 101, count: 0 },
    next: { minScore: 101, count: 0 },
    base: { minScore: 0, count: 0 },
  };
  let seen = 0;
  for (let s = 100; s >= 0; s--) {
    const n = histogram.get(s) ?? 0;
    if (!n) continue;
    const tier: Tier = seen < shares.top * total ? "top" : seen < (shares.top + shares.next) * total ? "next" : "base";
    tiers[tier].count += n;
    tiers[tier].minScore = s;
    seen += n;
  }
  return { total, tiers };
}

/** The tier of a score given the pyramid's cut scores. */
export function tierOf(score: number, p: ReturnType<typeof pyramidOf>): Tier {
  if (p.tiers.top.count && score >= p.tiers.top.minScore) return "top";
  if (p.tiers.next.count && score >= p.tiers.next.minScore) return "next";
  return "base";
}

/** The model as the API shows it (money as a decimal string). */
export const presentValueModel = (m: ValueModel) => ({ ...m, monetaryCap: formatFen(m.monetaryCap) });
