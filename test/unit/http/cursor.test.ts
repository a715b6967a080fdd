// Unit tests for signed pagination cursors: round trip, and refusal of tampered, foreign or malformed cursors.
import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor } from "../../../shared/db/cursor.ts";
import { BadRequestError } from "../../../shared/http/errors.ts";

const state = { PK: "T#acme#CUST#01J", SK: "PROFILE", GSI1SK: "01J" };

/** Flips one character of `s` at `index` to another character of the base64url alphabet. */
function flipAt(s: string, index: number): string {
  const c = s[index]!;
  return s.slice(0, index) + (c === "A" ? "B" : "A") + s.slice(index + 1);
}

describe("cursors", () => {
  it("give back the state they were made from, for the same tenant and query", () => {
    // Prepare
    const cursor = encodeCursor("acme", "customers", state);

    // Act
    const decoded = decodeCursor("acme", "customers", cursor);

    // Assess
    expect(decoded).toEqual(state);
  });

  it("are opaque: the key inside is not readable as plain text", () => {
    expect(encodeCursor("acme", "customers", state)).not.toContain("T#acme");
  });

  it.each([undefined, ""])("mean 'first page' when absent (%j)", (cursor) => {
    expect(decodeCursor("acme", "customers", cursor)).toBeUndefined();
  });

  it("are refused with 400 when the payload was edited", () => {
    // Prepare: re-encode the payload with another tenant's key but keep the old signature
    const cursor = encodeCursor("acme", "customers", state);
    const [, mac] = cursor.split(".");
    const forged = Buffer.from(
      JSON.stringify({ t: "acme", q: "customers", s: { ...state, PK: "T#other#CUST#01J" } }),
    ).toString("base64url");

    // Act / Assess
    expect(() => decodeCursor("acme", "customers", `${forged}.${mac}`)).toThrow(BadRequestError);
  });

  it("are refused with 400 when one character of the signature changed", () => {
    // Prepare
    const cursor = encodeCursor("acme", "customers", state);

    // Act / Assess
    expect(() => decodeCursor("acme", "customers", flipAt(cursor, cursor.length - 1))).toThrow(BadRequestError);
  });

  it("are refused with 400 for another tenant", () => {
    // Prepare
    const cursor = encodeCursor("acme", "customers", state);

    // Act / Assess
    expect(() => decodeCursor("globex", "customers", cursor)).toThrow(BadRequestError);
  });

  it("are refused with 400 for another query", () => {
    // Prepare
    const cursor = encodeCursor("acme", JSON.stringify(["customers", { industry: "steel" }]), state);

    // Act / Assess
    expect(() => decodeCursor("acme", JSON.stringify(["customers", { industry: "retail" }]), cursor)).toThrow(
      BadRequestError,
    );
  });

  it.each([
    ["without a signature", "eyJ0IjoiYWNtZSJ9"],
    ["made of garbage", "!!!.???"],
    ["longer than 4096 characters", `${"A".repeat(4097)}.sig`],
  ])("are refused with 400 when %s", (_what, cursor) => {
    expect(() => decodeCursor("acme", "customers", cursor)).toThrow(BadRequestError);
  });
});
