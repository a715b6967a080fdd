// Unit tests for phone, fax, postcode and e-mail schemas.
import { describe, expect, it } from "vitest";
import {
  EmailSchema,
  FaxSchema,
  GenericPostcodeSchema,
  PhoneSchema,
  PostcodeSchema,
  parsePhone,
} from "../../../shared/domain/validation/contact.ts";

describe("PhoneSchema / parsePhone", () => {
  it.each([
    ["13812345678", "13812345678", "mobile"],
    [" 138 1234 5678 ", "13812345678", "mobile"],
    ["138-1234-5678", "13812345678", "mobile"],
    ["+86 138 1234 5678", "13812345678", "mobile"],
    ["+8613812345678", "13812345678", "mobile"],
    ["0086-138-1234-5678", "13812345678", "mobile"],
    ["86 13812345678", "13812345678", "mobile"],
    ["19912345678", "19912345678", "mobile"],
    ["021-12345678", "021-12345678", "landline"],
    ["(021) 12345678", "021-12345678", "landline"],
    ["02112345678", "021-12345678", "landline"],
    ["0571 8888 8888", "0571-88888888", "landline"],
    ["0571-8888-8888", "0571-88888888", "landline"],
    ["0898-6123456", "0898-6123456", "landline"],
    ["010-12345678-123", "010-12345678-123", "landline"],
    ["010-12345678 ext. 123", "010-12345678-123", "landline"],
    ["010 12345678 转 8001", "010-12345678-8001", "landline"],
    ["+86 21 1234 5678", "021-12345678", "landline"],
    ["+86 (0)21 1234 5678", "021-12345678", "landline"],
    ["０２１－１２３４５６７８", "021-12345678", "landline"],
    ["400-123-4567", "400-123-4567", "service"],
    ["400 800 1234", "400-800-1234", "service"],
    ["8008101234", "800-810-1234", "service"],
    ["+44 20 7123 4567", "+442071234567", "international"],
    ["+44 (0)20 7123 4567", "+442071234567", "international"],
    ["0044 20 7123 4567", "+442071234567", "international"],
    ["+1 (415) 555-2671", "+14155552671", "international"],
    ["+1 415 555 2671 x12", "+14155552671-12", "international"],
    ["+852 2123 4567", "+85221234567", "international"],
  ])("accepts %j as %s", (input, canonical, kind) => {
    expect(parsePhone(input)).toEqual({ ok: true, value: canonical, kind });
    expect(PhoneSchema.parse(input)).toBe(canonical);
  });

  it.each([
    ["", /empty/],
    ["   ", /empty/],
    ["1381234567", /11 digits/],
    ["138123456789", /11 digits/],
    ["12812345678", /11 digits/],
    ["12345678", /area code/],
    ["021-1234", /area code \+ 7-8 digits/],
    ["021-012345678", /area code \+ 7-8 digits/],
    ["abc", /only contain digits/],
    ["138 1234 5678 ext 1", /extension/],
    ["+86 400 123 4567", /\+86/],
    ["+86 123", /\+86/],
    ["+44 12", /7-15 digits/],
    ["+0 123456789", /7-15 digits/],
    ["+1 2345 6789 0123 4567", /7-15 digits/],
    ["13812345678+", /only contain digits/],
  ])("rejects %j", (input, message) => {
    const r = PhoneSchema.safeParse(input);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(message);
  });

  it("rejects non-strings", () => {
    expect(PhoneSchema.safeParse(13812345678).error?.issues[0]?.message).toBe("Phone number must be a string");
  });
});

describe("FaxSchema", () => {
  it("accepts landlines and international numbers", () => {
    expect(FaxSchema.parse("0571 8888 8888")).toBe("0571-88888888");
    expect(FaxSchema.parse("010-12345678-123")).toBe("010-12345678-123");
    expect(FaxSchema.parse("+44 20 7123 4567")).toBe("+442071234567");
  });

  it("rejects mobiles, service numbers and garbage", () => {
    expect(FaxSchema.safeParse("13812345678").error?.issues[0]?.message).toMatch(/landline/);
    expect(FaxSchema.safeParse("400-123-4567").error?.issues[0]?.message).toMatch(/landline/);
    expect(FaxSchema.safeParse("fax").error?.issues[0]?.message).toMatch(/^Fax number/);
  });
});

describe("PostcodeSchema", () => {
  it("accepts 6 digits, trimmed and folded", () => {
    expect(PostcodeSchema.parse(" 310012 ")).toBe("310012");
    expect(PostcodeSchema.parse("１０００００")).toBe("100000");
  });

  it.each(["31001", "3100120", "31001a", "310 012", ""])("rejects %j", (input) => {
    expect(PostcodeSchema.safeParse(input).error?.issues[0]?.message).toBe("Chinese postcode must be 6 digits");
  });
});

describe("GenericPostcodeSchema", () => {
  it.each([
    ["sw1a  1aa", "SW1A 1AA"],
    ["10001-1234", "10001-1234"],
    ["100-0001", "100-0001"],
    ["310012", "310012"],
    [" 75008 ", "75008"],
  ])("accepts %j as %j", (input, out) => {
    expect(GenericPostcodeSchema.parse(input)).toBe(out);
  });

  it.each(["1", "12345678901", "AB_12", "-123", "12 -3"])("rejects %j", (input) => {
    expect(GenericPostcodeSchema.safeParse(input).success).toBe(false);
  });
});

describe("EmailSchema", () => {
  it("trims and lower-cases only the domain", () => {
    expect(EmailSchema.parse("  John.Doe@Example.COM ")).toBe("John.Doe@example.com");
    expect(EmailSchema.parse("sales+cn@sub.example.com.cn")).toBe("sales+cn@sub.example.com.cn");
  });

  it.each(["", "plain", "a@b", "a@@b.com", "a b@c.com", "张三@example.com", "a@example..com"])(
    "rejects %j",
    (input) => {
      const r = EmailSchema.safeParse(input);
      expect(r.success).toBe(false);
      expect(r.error?.issues[0]?.message).toBe("E-mail address is not valid");
    },
  );

  it("rejects addresses over 254 characters", () => {
    const long = `${"a".repeat(64)}@${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(63)}.com`;
    expect(long.length).toBeGreaterThan(254);
    expect(EmailSchema.safeParse(long).error?.issues[0]?.message).toBe("E-mail must be at most 254 characters");
  });
});
