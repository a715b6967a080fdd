// Unit tests for reading the caller from JWT claims as API Gateway passes them, and the role checks.
import { describe, expect, it } from "vitest";
import { callerFromClaims, canWrite, claimList, requireReader, requireWriter } from "../../../shared/auth/claims.ts";
import { ForbiddenError, UnauthorizedError } from "../../../shared/http/errors.ts";
import { aCaller } from "../domain/support/builders.ts";

describe("claimList", () => {
  it.each([
    ["API Gateway's bracket form", "[admin sales]", ["admin", "sales"]],
    ["a single bracketed role", "[admin]", ["admin"]],
    ["a JSON array string", '["admin","sales"]', ["admin", "sales"]],
    ["a real array", ["admin", "sales"], ["admin", "sales"]],
    ["a comma list", "admin, sales", ["admin", "sales"]],
    ["an empty bracket list", "[]", []],
    ["an absent claim", undefined, []],
  ] as const)("reads %s", (_what, value, expected) => {
    // Act
    const roles = claimList(value as string | string[] | undefined);

    // Assess
    expect(roles).toEqual(expected);
  });
});

describe("callerFromClaims", () => {
  it("builds the caller from plain tenant, sub and bracketed roles", () => {
    // Act
    const caller = callerFromClaims({ sub: "u-1", tenant: "acme", roles: "[sales viewer]", dept: "east" });

    // Assess
    expect(caller).toEqual({ tenant: "acme", userId: "u-1", roles: ["sales", "viewer"], dept: "east" });
  });

  it("reads Cognito's custom:tenant and cognito:groups", () => {
    // Act
    const caller = callerFromClaims({ sub: "u-1", "custom:tenant": "acme", "cognito:groups": "[manager]" });

    // Assess
    expect(caller.tenant).toBe("acme");
    expect(caller.roles).toEqual(["manager"]);
  });

  it("drops roles the system does not know", () => {
    // Act
    const caller = callerFromClaims({ sub: "u-1", tenant: "acme", roles: "[root admin superuser]" });

    // Assess
    expect(caller.roles).toEqual(["admin"]);
  });

  it("refuses a request without claims with 401", () => {
    expect(() => callerFromClaims(undefined)).toThrow(UnauthorizedError);
  });

  it.each([
    ["no tenant", { sub: "u-1", roles: "[admin]" }],
    ["an empty tenant", { sub: "u-1", tenant: "", roles: "[admin]" }],
    // '#' separates the parts of every key (T#<tenant>#...): a tenant containing it could reach another tenant's keys.
    ["a tenant that could forge a key prefix", { sub: "u-1", tenant: "acme#CUST#x", roles: "[admin]" }],
    ["no sub", { tenant: "acme", roles: "[admin]" }],
    ["a sub with spaces", { sub: "u 1", tenant: "acme", roles: "[admin]" }],
  ])("refuses a token with %s with 401", (_what, claims) => {
    expect(() => callerFromClaims(claims)).toThrow(UnauthorizedError);
  });

  it("ignores a department claim that is not a valid id", () => {
    // Act
    const caller = callerFromClaims({ sub: "u-1", tenant: "acme", roles: "[sales]", dept: "east wing/#2" });

    // Assess
    expect(caller.dept).toBeUndefined();
  });
});

describe("role checks", () => {
  it("lets a viewer read but not write", () => {
    // Prepare
    const viewer = aCaller({ roles: ["viewer"] });

    // Act / Assess
    expect(canWrite(viewer)).toBe(false);
    expect(() => requireReader(viewer)).not.toThrow();
    expect(() => requireWriter(viewer)).toThrow(ForbiddenError);
  });

  it("lets a caller write when any of their roles may write", () => {
    // Prepare
    const caller = aCaller({ roles: ["viewer", "sales"] });

    // Act / Assess
    expect(canWrite(caller)).toBe(true);
    expect(() => requireWriter(caller)).not.toThrow();
  });

  it("refuses even reads to a caller with no known role (403)", () => {
    expect(() => requireReader(aCaller({ roles: [] }))).toThrow(ForbiddenError);
  });
});
