// Optimistic locking input: the version the caller read, from If-Match or the body.
import { BadRequestError, PreconditionRequiredError } from "./errors.ts";

/** Parses `If-Match: "3"` (also W/"3" or 3); undefined when absent. */
export function versionFromIfMatch(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header);
  if (!m) throw new BadRequestError('If-Match must carry the version you read, e.g. If-Match: "3"');
  return Number(m[1]);
}

/** The expected version of an update: If-Match wins over `version` in the body; both absent -> 428. */
export function expectedVersion(header: string | undefined, bodyVersion: number | undefined, required = true) {
  const fromHeader = versionFromIfMatch(header);
  if (fromHeader !== undefined && bodyVersion !== undefined && fromHeader !== bodyVersion) {
    throw new BadRequestError("If-Match and body version disagree");
  }
  const v = fromHeader ?? bodyVersion;
  if (v === undefined && required) {
    throw new PreconditionRequiredError('send the version you read, as If-Match: "<version>" or "version" in the body');
  }
  return v;
}
