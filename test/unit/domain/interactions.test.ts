// Interactions without a database: input validation, the counter moves of each write, and how stats are shown.
import { describe, expect, it } from "vitest";
import { InteractionCreateSchema, InteractionPatchSchema } from "../../../shared/domain/interactions/schemas.ts";
import {
  advancesLast,
  averageScore,
  createDelta,
  recompute,
  stateDelta,
  ZERO,
} from "../../../shared/domain/interactions/stats.ts";
import { latestInteractions, presentInteractionStats } from "../../../shared/domain/interactions/view.ts";
import { interactionKeys } from "../../../shared/domain/interactions/keys.ts";
import { monthOf } from "../../../shared/domain/interactions/service.ts";

const paths = (r: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) =>
  (r.error?.issues ?? []).map((i) => i.path.join("."));

describe("interaction input", () => {
  it("accepts each kind, a survey only with a whole score from 1 to 5", () => {
    for (const kind of ["call", "visit", "email", "meeting", "complaint"]) {
      expect(InteractionCreateSchema.safeParse({ kind, summary: "谈了价格" }).success).toBe(true);
    }
    expect(InteractionCreateSchema.parse({ kind: "survey", score: 5 })).toMatchObject({ kind: "survey", score: 5 });
    expect(paths(InteractionCreateSchema.safeParse({ kind: "survey" }))).toEqual(["score"]);
    for (const score of [0, 6, 4.5, "4"]) {
      expect(InteractionCreateSchema.safeParse({ kind: "survey", score }).success, String(score)).toBe(false);
    }
    expect(paths(InteractionCreateSchema.safeParse({ kind: "call", score: 3 }))).toEqual(["score"]);
  });

  it("refuses unknown kinds, unknown fields, long summaries and bad contact ids", () => {
    expect(InteractionCreateSchema.safeParse({ kind: "fax" }).success).toBe(false);
    expect(paths(InteractionCreateSchema.safeParse({ kind: "call", tenant: "x" }))).toEqual([""]);
    expect(InteractionCreateSchema.safeParse({ kind: "call", summary: "x".repeat(2001) }).success).toBe(false);
    expect(InteractionCreateSchema.safeParse({ kind: "call", summary: "x".repeat(2000) }).success).toBe(true);
    expect(InteractionCreateSchema.safeParse({ kind: "call", contactId: "../x" }).success).toBe(false);
  });

  it("normalises `at` to UTC and refuses the future (beyond a little skew), garbage and the distant past", () => {
    expect(InteractionCreateSchema.parse({ kind: "call", at: "2026-01-31T20:00:00+08:00" }).at).toBe(
      "2026-01-31T12:00:00.000Z",
    );
    const soon = new Date(Date.now() + 60_000).toISOString();
    expect(InteractionCreateSchema.safeParse({ kind: "call", at: soon }).success).toBe(true);
    const later = new Date(Date.now() + 3600_000).toISOString();
    expect(paths(InteractionCreateSchema.safeParse({ kind: "call", at: later }))).toEqual(["at"]);
    expect(InteractionCreateSchema.safeParse({ kind: "call", at: "yesterday" }).success).toBe(false);
    expect(InteractionCreateSchema.safeParse({ kind: "call", at: "1999-12-31T23:59:59Z" }).success).toBe(false);
  });

  it("patches only summary, state and resolution, and needs something to change", () => {
    expect(InteractionPatchSchema.safeParse({ state: "resolved", resolution: "换货" }).success).toBe(true);
    expect(InteractionPatchSchema.safeParse({ state: "closed" }).success).toBe(false);
    expect(InteractionPatchSchema.safeParse({ score: 3 }).success).toBe(false);
    expect(InteractionPatchSchema.safeParse({ kind: "call" }).success).toBe(false);
    expect(InteractionPatchSchema.safeParse({ version: 2 }).success).toBe(false);
  });
});

describe("stat deltas", () => {
  it("counts every interaction, surveys with their score, complaints as open", () => {
    expect(createDelta({ kind: "call" })).toEqual({ ...ZERO, interactions: 1 });
    expect(createDelta({ kind: "survey", score: 4 })).toEqual({ ...ZERO, interactions: 1, surveys: 1, scoreSum: 4 });
    expect(createDelta({ kind: "complaint" })).toEqual({ ...ZERO, interactions: 1, openComplaints: 1 });
  });

  it("moves a complaint between open and resolved, and nothing for no change", () => {
    expect(stateDelta("open", "resolved")).toEqual({ ...ZERO, openComplaints: -1, resolvedComplaints: 1 });
    expect(stateDelta("resolved", "open")).toEqual({ ...ZERO, openComplaints: 1, resolvedComplaints: -1 });
    expect(stateDelta("open", "open")).toEqual(ZERO);
    expect(stateDelta(undefined, undefined)).toEqual(ZERO);
  });

  it("recomputes the same totals the deltas add up to", () => {
    const items = [
      { kind: "survey" as const, score: 5 },
      { kind: "survey" as const, score: 2 },
      { kind: "complaint" as const, state: "open" as const },
      { kind: "complaint" as const, state: "resolved" as const },
      { kind: "visit" as const },
    ];
    expect(recompute(items)).toEqual({
      interactions: 5,
      surveys: 2,
      scoreSum: 7,
      openComplaints: 1,
      resolvedComplaints: 1,
    });
  });

  it("moves lastInteractionAt only forward", () => {
    expect(advancesLast(undefined, "2026-01-01T00:00:00.000Z")).toBe(true);
    expect(advancesLast("2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z")).toBe(true);
    expect(advancesLast("2026-02-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z")).toBe(false);
    expect(advancesLast("2026-02-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z")).toBe(false);
  });
});

describe("presentation", () => {
  it("shows the average survey score with two decimals, null without surveys", () => {
    expect(averageScore(13, 3)).toBe(4.33);
    expect(averageScore(0, 0)).toBeNull();
    expect(presentInteractionStats({ contactCount: 1 })).toEqual({ contactCount: 1 });
    expect(presentInteractionStats({ surveyCount: 3, surveyScoreSum: 14 })).toMatchObject({ averageSurveyScore: 4.67 });
  });

  it("picks the latest interactions of a collection, newest first, without keys", () => {
    const items = ["01A", "01C", "01B"].map((id) => ({
      PK: "p",
      SK: interactionKeys.sk(id),
      entity: "interaction",
      id,
      dims: {},
    }));
    const latest = latestInteractions([{ SK: "PROFILE", entity: "customer" }, ...items], 2);
    expect(latest.map((i) => i.id)).toEqual(["01C", "01B"]);
    expect(latest[0]).not.toHaveProperty("dims");
    expect(latest[0]).not.toHaveProperty("PK");
  });

  it("files an interaction under the month of the tenant's time zone", () => {
    expect(monthOf("2026-01-31T20:00:00.000Z", "Asia/Shanghai")).toBe("2026-02");
    expect(monthOf("2026-01-31T20:00:00.000Z", "UTC")).toBe("2026-01");
  });
});
