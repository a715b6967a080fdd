// Tenant settings (customer code pattern, time zone) and the counters that number customer codes.
import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import { env } from "../../config/env.ts";
import { ddb } from "../../db/client.ts";
import { transact } from "../../db/transact.ts";
import { auditPut } from "../audit/audit.ts";
import { ConflictError } from "../../http/errors.ts";
import { CodePatternSchema, DEFAULT_CODE_PATTERN } from "./code-pattern.ts";

export const settingsKeys = {
  pk: (tenant: string) => `T#${tenant}#SETTINGS`,
  sk: () => "SETTINGS",
  counterPk: (tenant: string, name: string) => `T#${tenant}#COUNTER#${name}`,
};

const TimeZoneSchema = z
  .string()
  .max(64)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat("en", { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, "unknown IANA time zone");

export const SettingsPutSchema = z.strictObject({
  version: z.number().int().min(0).optional(),
  customerCodePattern: CodePatternSchema,
  timeZone: TimeZoneSchema.default("Asia/Shanghai"),
});

export interface Settings {
  customerCodePattern: string;
  timeZone: string;
  version: number;
  updatedAt?: string;
  updatedBy?: string;
}

const DEFAULTS: Settings = { customerCodePattern: DEFAULT_CODE_PATTERN, timeZone: "Asia/Shanghai", version: 0 };

/** The tenant's settings, or the defaults (version 0) when none were saved. */
export async function getSettings(tenant: string): Promise<Settings> {
  const res = await ddb.send(
    new GetCommand({ TableName: env.TABLE_NAME, Key: { PK: settingsKeys.pk(tenant), SK: settingsKeys.sk() } }),
  );
  if (!res.Item) return { ...DEFAULTS };
  return {
    customerCodePattern: res.Item.customerCodePattern as string,
    timeZone: res.Item.timeZone as string,
    version: res.Item.version as number,
    updatedAt: res.Item.updatedAt as string,
    updatedBy: res.Item.updatedBy as string,
  };
}

/** Saves settings if `expectedVersion` is still current (0 when none were saved yet), with its audit entry. */
export async function putSettings(
  tenant: string,
  userId: string,
  s: { customerCodePattern: string; timeZone: string },
  expectedVersion: number,
  requestId?: string,
): Promise<Settings> {
  const before = await getSettings(tenant);
  const now = new Date().toISOString();
  const next: Settings = { ...s, version: expectedVersion + 1, updatedAt: now, updatedBy: userId };
  await transact([
    {
      item: {
        Put: {
          TableName: env.TABLE_NAME,
          Item: { PK: settingsKeys.pk(tenant), SK: settingsKeys.sk(), entity: "settings", ...next },
          ConditionExpression: expectedVersion === 0 ? "attribute_not_exists(PK)" : "version = :v",
          ExpressionAttributeValues: expectedVersion === 0 ? undefined : { ":v": expectedVersion },
        },
      },
      onConditionFailed: () => new ConflictError("settings were changed meanwhile; read them again"),
    },
    auditPut(tenant, {
      at: now,
      actor: userId,
      action: expectedVersion === 0 ? "create" : "update",
      entityType: "settings",
      entityId: "settings",
      before: before.version === 0 ? null : { ...before },
      after: { ...next },
      requestId,
    }),
  ]);
  return next;
}

/**
 * Takes the next number of a counter atomically. Numbers are never reused; a create that fails after taking
 * one leaves a gap, which is the usual trade for numbering without a lock.
 */
export async function nextSequence(tenant: string, name: string, key: string): Promise<number> {
  const res = await ddb.send(
    new UpdateCommand({
      TableName: env.TABLE_NAME,
      Key: { PK: settingsKeys.counterPk(tenant, name), SK: key },
      UpdateExpression: "ADD seq :one SET entity = :e",
      ExpressionAttributeValues: { ":one": 1, ":e": "counter" },
      ReturnValues: "UPDATED_NEW",
    }),
  );
  return res.Attributes!.seq as number;
}
