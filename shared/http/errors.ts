// Typed domain errors and the one table that maps them to HTTP status codes.

export interface FieldError {
  path: string;
  message: string;
}

/** Base of every error a client can cause; its message is safe to show. */
export abstract class AppError extends Error {
  abstract readonly status: number;
  abstract readonly title: string;
  readonly errors: FieldError[] | undefined;
  constructor(message: string, errors?: FieldError[]) {
    super(message);
    this.errors = errors;
  }
}

export class ValidationError extends AppError {
  override readonly name = "ValidationError";
  readonly status = 400;
  readonly title = "Validation failed";
  constructor(message: string, errors: FieldError[] = []) {
    super(message, errors);
  }
}
export class BadRequestError extends AppError {
  override readonly name = "BadRequestError";
  readonly status = 400;
  readonly title = "Bad request";
}
export class UnauthorizedError extends AppError {
  override readonly name = "UnauthorizedError";
  readonly status = 401;
  readonly title = "Unauthorized";
}
export class ForbiddenError extends AppError {
  override readonly name = "ForbiddenError";
  readonly status = 403;
  readonly title = "Forbidden";
}
export class NotFoundError extends AppError {
  override readonly name = "NotFoundError";
  readonly status = 404;
  readonly title = "Not found";
}
export class MethodNotAllowedError extends AppError {
  override readonly name = "MethodNotAllowedError";
  readonly status = 405;
  readonly title = "Method not allowed";
}
export class ConflictError extends AppError {
  override readonly name = "ConflictError";
  readonly status = 409;
  readonly title = "Conflict";
}
export class PreconditionRequiredError extends AppError {
  override readonly name = "PreconditionRequiredError";
  readonly status = 428;
  readonly title = "Precondition required";
}
export class PayloadTooLargeError extends AppError {
  override readonly name = "PayloadTooLargeError";
  readonly status = 413;
  readonly title = "Payload too large";
}
export class UnsupportedMediaTypeError extends AppError {
  override readonly name = "UnsupportedMediaTypeError";
  readonly status = 415;
  readonly title = "Unsupported media type";
}
export class UnprocessableError extends AppError {
  override readonly name = "UnprocessableError";
  readonly status = 422;
  readonly title = "Unprocessable request";
}
export class TooManyRequestsError extends AppError {
  override readonly name = "TooManyRequestsError";
  readonly status = 429;
  readonly title = "Too many requests";
}

/** Problem type URIs are stable identifiers frontends may switch on. */
export function problemType(err: AppError): string {
  return `https://customer-master.dev/problems/${err.name.replace(/Error$/, "").replace(/[A-Z]/g, (c, i) => (i ? "-" : "") + c.toLowerCase())}`;
}
