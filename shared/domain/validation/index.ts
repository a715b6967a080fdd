// Public surface of the validation module: USCC, region codes, contact fields and pinyin search tokens.
export { USCC_CHARSET, usccCheckChar, validateUscc, UsccSchema } from "./uscc.ts";
export type { UsccFailure, UsccResult } from "./uscc.ts";
export { isRegionCode, regionName, regionPath, RegionCodeSchema } from "./region.ts";
export { parsePhone, PhoneSchema, FaxSchema, PostcodeSchema, GenericPostcodeSchema, EmailSchema } from "./contact.ts";
export type { PhoneKind, PhoneResult } from "./contact.ts";
export { MAX_TOKEN_LENGTH, normalizeQuery, searchTokens } from "./pinyin.ts";
