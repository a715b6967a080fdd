// Built-in schemes every tenant has from the start (the common dimensions of customer classification). A tenant may
// change one with PUT: from then on its stored versions win, and version 1 stays the code's.
import type { Scheme } from "./schemas.ts";

const T0 = "2026-01-01T00:00:00.000Z";
const base = { active: true, builtIn: true, version: 1, createdAt: T0, updatedAt: T0, updatedBy: "system" };

export const BUILT_IN_SCHEMES: readonly Scheme[] = [
  { ...base, id: "industry", name: "行业 Industry", rules: [], valueFrom: { field: "industry" }, default: "unknown" },
  {
    ...base,
    id: "region",
    name: "地区(省) Region (province)",
    rules: [],
    valueFrom: { field: "region", length: 2 },
    default: "unknown",
  },
  { ...base, id: "type", name: "类型 Type", rules: [], valueFrom: { field: "type" }, default: "enterprise" },
  {
    ...base,
    id: "size",
    name: "规模(交易额) Size by amount",
    description: "large from 1,000,000.00 net, medium from 100,000.00, else small",
    rules: [
      { value: "large", when: { field: "stats.netAmount", op: "gte", value: "1000000.00" } },
      { value: "medium", when: { field: "stats.netAmount", op: "gte", value: "100000.00" } },
    ],
    default: "small",
  },
  {
    ...base,
    id: "frequency",
    name: "购买频率 Purchase frequency",
    description: "high: 6+ orders and one within 180 days; medium: 2+ orders; low: otherwise",
    rules: [
      {
        value: "high",
        when: {
          all: [
            { field: "stats.orderCount", op: "gte", value: 6 },
            { field: "stats.lastOrderAt", op: "within", value: "P180D" },
          ],
        },
      },
      { value: "medium", when: { field: "stats.orderCount", op: "gte", value: 2 } },
    ],
    default: "low",
  },
  {
    ...base,
    id: "loyalty",
    name: "新老客户 New vs returning",
    rules: [
      { value: "returning", when: { field: "stats.orderCount", op: "gte", value: 2 } },
      { value: "new", when: { field: "stats.orderCount", op: "eq", value: 1 } },
    ],
    default: "prospect",
  },
  {
    ...base,
    id: "credit",
    name: "信用 Credit",
    description: "the credit rating custom field, or unrated",
    rules: [],
    valueFrom: { field: "customFields.creditRating" },
    default: "unrated",
  },
];

export const builtInScheme = (id: string) => BUILT_IN_SCHEMES.find((s) => s.id === id);
