// Unit tests for the optimistic-locking input: If-Match parsing and the 428 when no version is sent.
import { describe, expect, it } from "vitest";
import { BadRequestError, PreconditionRequiredError } from "../../../shared/http/errors.ts";
import { expectedVersion, versionFromIfMatch } from "../../../shared/http/version.ts";

describe("versionFromIfMatch", () => {
  it.each([
    ['"3"', 3],
    ['W/"3"', 3],
    ["3", 3],
    [' "12" ', 12],
  ])("reads If-Match: %s as version %d", (header, version) => {
    expect(versionFromIfMatch(header)).toBe(version);
  });

  it("is undefined when the header is absent", () => {
    expect(versionFromIfMatch(undefined)).toBeUndefined();
  });

  it.each(['"abc"', '"3", "4"', "", "-1"])("refuses If-Match: %j with 400", (header) => {
    expect(() => versionFromIfMatch(header)).toThrow(BadRequestError);
  });
});

describe("expectedVersion", () => {
  it("takes the If-Match version when the body has none", () => {
    expect(expectedVersion('"5"', undefined)).toBe(5);
  });

  it("takes the body version when there is no If-Match", () => {
    expect(expectedVersion(undefined, 5)).toBe(5);
  });

  it("refuses a header and a body that disagree with 400", () => {
    expect(() => expectedVersion('"5"', 4)).toThrow(BadRequestError);
  });

  it("answers 428 when neither says which version the caller read", () => {
    // Act
    const act = () => expectedVersion(undefined, undefined);

    // Assess
    expect(act).toThrow(PreconditionRequiredError);
    try {
      act();
    } catch (err) {
      expect((err as PreconditionRequiredError).status).toBe(428);
    }
  });

  it("allows no version when the route does not require one", () => {
    expect(expectedVersion(undefined, undefined, false)).toBeUndefined();
  });
});
