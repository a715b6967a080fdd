// One local SQS standard queue: messages with delay, visibility timeout, receive counts and a redrive policy to a DLQ,
// kept in memory and snapshotted to a JSON file after every change so a restart loses nothing.
import { randomBytes, randomUUID } from "node:crypto";
import { SnapshotFile, readJson } from "../util/fs.ts";
import { type MessageAttributeValue, md5Hex, md5OfMessageAttributes } from "./md5.ts";

export interface StoredMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  md5OfMessageAttributes?: string;
  messageAttributes?: Record<string, MessageAttributeValue>;
  sentTimestamp: number;
  senderId: string;
  /** Not deliverable before this time (epoch ms): the send delay, or the visibility timeout after a receive. */
  visibleAt: number;
  receiveCount: number;
  firstReceiveTimestamp?: number;
  /** Handle of the latest receive; only it deletes the message. */
  receiptHandle?: string;
  /** Why the latest delivery failed, for the DLQ log line. */
  lastError?: string;
  /** Set on messages a redrive moved here: the ARN of the queue they came from. */
  deadLetterSourceArn?: string;
}

export interface SendInput {
  body: string;
  messageAttributes?: Record<string, MessageAttributeValue>;
  delaySeconds?: number;
  senderId?: string;
}

export interface QueueStats {
  /** Ready to receive now (ApproximateNumberOfMessages). */
  visible: number;
  /** Received and not yet deleted or visible again (ApproximateNumberOfMessagesNotVisible). */
  inFlight: number;
  /** Sent with a delay that has not passed (ApproximateNumberOfMessagesDelayed). */
  delayed: number;
  total: number;
}

export interface Redrive {
  target: MessageQueue;
  maxReceiveCount: number;
}

/** Limits of SQS itself (the cloud allows larger bodies today; 256 KiB keeps messages portable). */
export const MAX_BODY_BYTES = 256 * 1024;
export const MAX_DELAY_SECONDS = 900;

/** SQS accepts #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF (no lone surrogates). */
function hasOnlyValidChars(s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    const ok =
      c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || c >= 0x10000;
    if (!ok) return false;
  }
  return true;
}

export class SqsInputError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Checks a message body as SQS does: non-empty, at most 256 KiB, only XML-safe unicode. */
export function validateBody(body: unknown): asserts body is string {
  if (typeof body !== "string" || body.length === 0) {
    throw new SqsInputError("MissingParameter", "The request must contain the parameter MessageBody.");
  }
  if (Buffer.byteLength(body, "utf8") > MAX_BODY_BYTES) {
    throw new SqsInputError(
      "InvalidParameterValue",
      `One or more parameters are invalid. Reason: Message must be shorter than ${MAX_BODY_BYTES} bytes.`,
    );
  }
  if (!hasOnlyValidChars(body)) {
    throw new SqsInputError("InvalidMessageContents", "Invalid characters found in the message body.");
  }
}

export class MessageQueue {
  private messages: StoredMessage[] = [];
  /** Messages handed to a running invocation: never visible while it runs, whatever the visibility timeout says. */
  private readonly held = new Set<string>();
  private readonly snapshot: SnapshotFile;
  redrive: Redrive | undefined;
  /** Called after any change that may make messages deliverable. */
  onChange: (() => void) | undefined;
  /** Called when a redrive moves a message to the DLQ. */
  onDeadLetter: ((message: StoredMessage, target: MessageQueue) => void) | undefined;
  onPersistError: ((err: unknown) => void) | undefined;
  private closed = false;

  private constructor(
    readonly name: string,
    readonly arn: string,
    readonly url: string,
    file: string,
  ) {
    this.snapshot = new SnapshotFile(file, () => ({ version: 1, name: this.name, messages: this.messages }));
  }

  /** Opens the queue, loading the messages a previous run left in `file`. */
  static async open(opts: { name: string; arn: string; url: string; file: string }): Promise<MessageQueue> {
    const q = new MessageQueue(opts.name, opts.arn, opts.url, opts.file);
    const saved = await readJson<{ messages?: StoredMessage[] }>(opts.file, {});
    q.messages = Array.isArray(saved.messages) ? saved.messages : [];
    return q;
  }

  /** Persists the current state; resolves when a snapshot at least as new as this call is on disk. */
  save(): Promise<void> {
    return this.closed ? Promise.resolve() : this.snapshot.save();
  }

  saveSync(): void {
    if (!this.closed) this.snapshot.saveSync();
  }

  /** Writes a last snapshot and stops writing: a handler finishing after shutdown must not overwrite a newer run's file. */
  async close(): Promise<void> {
    await this.save();
    this.closed = true;
  }

  private changed(): void {
    this.save().catch((err) => this.onPersistError?.(err));
    this.onChange?.();
  }

  /** Adds a message; resolves once it is on disk (as SendMessage only answers once the message is stored). */
  async send(input: SendInput, now = Date.now()): Promise<StoredMessage> {
    validateBody(input.body);
    const delay = input.delaySeconds ?? 0;
    if (!Number.isInteger(delay) || delay < 0 || delay > MAX_DELAY_SECONDS) {
      throw new SqsInputError(
        "InvalidParameterValue",
        `Value ${delay} for parameter DelaySeconds is invalid. Reason: must be between 0 and ${MAX_DELAY_SECONDS}.`,
      );
    }
    const attrs =
      input.messageAttributes && Object.keys(input.messageAttributes).length ? input.messageAttributes : undefined;
    const msg: StoredMessage = {
      messageId: randomUUID(),
      body: input.body,
      md5OfBody: md5Hex(input.body),
      sentTimestamp: now,
      senderId: input.senderId ?? "AIDALOCALSENDER000000",
      visibleAt: now + delay * 1000,
      receiveCount: 0,
    };
    if (attrs) {
      msg.messageAttributes = attrs;
      msg.md5OfMessageAttributes = md5OfMessageAttributes(attrs);
    }
    this.messages.push(msg);
    this.onChange?.();
    await this.save();
    return msg;
  }

  /** Takes a moved message from another queue's redrive. */
  private acceptDeadLetter(msg: StoredMessage, sourceArn: string, now: number): void {
    const moved: StoredMessage = { ...msg, visibleAt: now, receiveCount: 0, deadLetterSourceArn: sourceArn };
    delete moved.receiptHandle;
    delete moved.firstReceiveTimestamp;
    this.messages.push(moved);
    this.changed();
  }

  private isVisible(m: StoredMessage, now: number): boolean {
    return m.visibleAt <= now && !this.held.has(m.messageId);
  }

  /**
   * Receives up to `max` visible messages and hides them for `visibilityMs`. A visible message already received
   * maxReceiveCount times is moved to the redrive target instead, as SQS does on the receive that would exceed it.
   */
  receive(max: number, visibilityMs: number, now = Date.now()): StoredMessage[] {
    const out: StoredMessage[] = [];
    let moved = false;
    for (const m of [...this.messages]) {
      if (out.length >= max) break;
      if (!this.isVisible(m, now)) continue;
      if (this.redrive && m.receiveCount >= this.redrive.maxReceiveCount) {
        this.messages.splice(this.messages.indexOf(m), 1);
        this.redrive.target.acceptDeadLetter(m, this.arn, now);
        this.onDeadLetter?.(m, this.redrive.target);
        moved = true;
        continue;
      }
      m.receiveCount += 1;
      m.firstReceiveTimestamp ??= now;
      m.receiptHandle = randomBytes(48).toString("base64");
      m.visibleAt = now + visibilityMs;
      out.push(m);
    }
    if (out.length || moved) this.save().catch((err) => this.onPersistError?.(err));
    return out;
  }

  /** Marks messages as being processed so they stay invisible until release(), even past their visibility timeout. */
  hold(messageIds: readonly string[]): void {
    for (const id of messageIds) this.held.add(id);
  }

  release(messageIds: readonly string[]): void {
    for (const id of messageIds) this.held.delete(id);
    this.onChange?.();
  }

  /** Deletes by receipt handle; false when no message has that handle (already deleted, or received again since). */
  delete(receiptHandle: string): boolean {
    const i = this.messages.findIndex((m) => m.receiptHandle === receiptHandle);
    if (i < 0) return false;
    const [m] = this.messages.splice(i, 1);
    if (m) this.held.delete(m.messageId);
    this.changed();
    return true;
  }

  /** Sets a received message's visibility timeout from now (ChangeMessageVisibility). */
  changeVisibility(receiptHandle: string, visibilityMs: number, now = Date.now()): boolean {
    const m = this.messages.find((x) => x.receiptHandle === receiptHandle);
    if (!m) return false;
    m.visibleAt = now + visibilityMs;
    this.changed();
    return true;
  }

  recordFailure(messageId: string, reason: string): void {
    const m = this.messages.find((x) => x.messageId === messageId);
    if (m) m.lastError = reason;
  }

  purge(): number {
    const n = this.messages.length;
    this.messages = [];
    this.held.clear();
    this.changed();
    return n;
  }

  stats(now = Date.now()): QueueStats {
    const s: QueueStats = { visible: 0, inFlight: 0, delayed: 0, total: this.messages.length };
    for (const m of this.messages) {
      if (this.isVisible(m, now)) s.visible += 1;
      else if (m.receiveCount > 0) s.inFlight += 1;
      else s.delayed += 1;
    }
    return s;
  }

  /** Earliest future time at which a message that is not held becomes visible. */
  nextVisibleAt(now = Date.now()): number | undefined {
    let next: number | undefined;
    for (const m of this.messages) {
      if (this.held.has(m.messageId) || m.visibleAt <= now) continue;
      if (next === undefined || m.visibleAt < next) next = m.visibleAt;
    }
    return next;
  }

  /** A copy of the stored messages (for tests and inspection). */
  peek(): StoredMessage[] {
    return this.messages.map((m) => ({ ...m }));
  }
}
