// The open tasks of a customer as the 360 view shows them, picked from its item collection (no extra read).
import { toTask } from "./repository.ts";
import type { Task } from "./schemas.ts";

/** The open tasks among a customer's collection items, soonest due first. */
export function openTasksOf(items: Record<string, unknown>[]): Task[] {
  return items
    .filter((i) => i.entity === "task" && i.status === "open")
    .map(toTask)
    .sort((a, b) => (a.dueAt < b.dueAt ? -1 : a.dueAt > b.dueAt ? 1 : 0));
}
