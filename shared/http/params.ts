// Path parameters shared by several handlers (kept out of any handler module, whose import would bundle its routes).
import { isId } from "../db/ids.ts";
import type { Request } from "./api.ts";
import { NotFoundError } from "./errors.ts";

/** The {id} path parameter of a customer; anything not shaped like our ids cannot exist, so it is a 404. */
export function customerId(req: Request): string {
  const id = req.params.id;
  if (!isId(id)) throw new NotFoundError(`customer ${id ?? ""} not found`);
  return id;
}
