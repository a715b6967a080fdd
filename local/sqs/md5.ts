// The MD5 digests SQS returns and Lambda passes on: of the body, and of the message attributes (AWS's binary encoding).
import { createHash } from "node:crypto";

/** A message attribute as the SQS API carries it (BinaryValue base64 in the JSON protocol). */
export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

export function md5Hex(data: string | Buffer): string {
  return createHash("md5").update(data).digest("hex");
}

function lengthPrefixed(bytes: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length, 0);
  return Buffer.concat([len, bytes]);
}

/**
 * MD5OfMessageAttributes: for each attribute sorted by name, the length-prefixed name, data type, a transport byte
 * (1 string/number, 2 binary) and the length-prefixed value. Undefined when there are no attributes.
 */
export function md5OfMessageAttributes(attrs: Record<string, MessageAttributeValue> | undefined): string | undefined {
  const names = Object.keys(attrs ?? {}).sort();
  if (!attrs || names.length === 0) return undefined;
  const parts: Buffer[] = [];
  for (const name of names) {
    const a = attrs[name]!;
    parts.push(lengthPrefixed(Buffer.from(name, "utf8")), lengthPrefixed(Buffer.from(a.DataType, "utf8")));
    if (a.DataType.startsWith("Binary")) {
      parts.push(Buffer.from([2]), lengthPrefixed(Buffer.from(a.BinaryValue ?? "", "base64")));
    } else {
      parts.push(Buffer.from([1]), lengthPrefixed(Buffer.from(a.StringValue ?? "", "utf8")));
    }
  }
  return md5Hex(Buffer.concat(parts));
}
