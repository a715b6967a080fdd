// Reads DynamoDB update expressions back into attribute names and values, so tests can say what an update changes.

interface UpdateLike {
  UpdateExpression?: string | undefined;
  ExpressionAttributeNames?: Record<string, string> | undefined;
  ExpressionAttributeValues?: Record<string, unknown> | undefined;
}

const resolveName = (u: UpdateLike, n: string) => (n.startsWith("#") ? (u.ExpressionAttributeNames?.[n] ?? n) : n);

function clause(expr: string, keyword: "SET" | "REMOVE" | "ADD"): string | undefined {
  const m = new RegExp(`(?:^|\\s)${keyword}\\s+(.*?)(?=\\s+(?:SET|REMOVE|ADD|DELETE)\\s|$)`).exec(expr);
  return m?.[1];
}

/** The attributes an update SETs, by real name, with the values they get. */
export function setsOf(u: UpdateLike): Record<string, unknown> {
  const part = clause(u.UpdateExpression ?? "", "SET");
  if (!part) return {};
  return Object.fromEntries(
    part.split(/,\s*/).map((a) => {
      const [name, value] = a.split(/\s*=\s*/) as [string, string];
      return [resolveName(u, name), u.ExpressionAttributeValues?.[value]];
    }),
  );
}

/** The attributes an update REMOVEs, by real name. */
export function removesOf(u: UpdateLike): string[] {
  const part = clause(u.UpdateExpression ?? "", "REMOVE");
  return part ? part.split(/,\s*/).map((n) => resolveName(u, n)) : [];
}

/** Every attribute path an update touches in any clause, by real name (for "does not touch" checks). */
export function touchedOf(u: UpdateLike): string[] {
  return (u.UpdateExpression ?? "")
    .split(/[\s,=]+/)
    .filter((t) => t && !["SET", "REMOVE", "ADD", "DELETE"].includes(t) && !t.startsWith(":"))
    .map((t) =>
      t
        .split(".")
        .map((p) => resolveName(u, p))
        .join("."),
    );
}

/** The attributes an update ADDs to, by real path, with the amounts. */
export function addsOf(u: UpdateLike): Record<string, unknown> {
  const part = clause(u.UpdateExpression ?? "", "ADD");
  if (!part) return {};
  return Object.fromEntries(
    part.split(/,\s*/).map((a) => {
      const [path, value] = a.trim().split(/\s+/) as [string, string];
      return [
        path
          .split(".")
          .map((p) => resolveName(u, p))
          .join("."),
        u.ExpressionAttributeValues?.[value],
      ];
    }),
  );
}
