/**
 * Every error the product can answer with has a stable code. The HTTP status for each code
 * is decided here and nowhere else; tests assert codes, never messages.
 */
export const ERROR_CODES = {
  validation_failed: { status: 422, title: 'The request is not valid' },
  malformed_request: { status: 400, title: 'The request could not be read' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The content type is not supported' },
  unauthenticated: { status: 401, title: 'Authentication is required' },
  forbidden: { status: 403, title: 'You may not do this' },
  csrf_refused: { status: 403, title: 'A cookie-authenticated change must come from the app’s own origin' },
  not_found: { status: 404, title: 'Not found' },
  invalid_state: { status: 409, title: 'The resource is not in a state that allows this' },
  conflict: { status: 409, title: 'The resource was changed by someone else' },
  version_mismatch: { status: 409, title: 'The resource version does not match If-Match' },
  funding_limit_reached: { status: 409, title: 'Another milestone is already funded' },
  change_request_open: { status: 409, title: 'A change request is open on this contract' },
  refund_request_open: { status: 409, title: 'A refund request is open on this contract' },
  limit_exceeded: { status: 422, title: 'A limit of the contract would be exceeded' },
  revision_limit_reached: { status: 409, title: 'The revision limit for this milestone is reached' },
  funding_pending: { status: 409, title: 'The escrow deposit has not settled yet' },
  escrow_frozen: { status: 409, title: 'The escrow is frozen while the client’s bank disputes its card payment' },
  review_exists: { status: 409, title: 'You already reviewed this contract' },
  current_password_incorrect: { status: 422, title: 'The current password is not correct' },
  no_next_milestone: { status: 409, title: 'There is no agreed, unfunded milestone after this one' },
  email_taken: { status: 409, title: 'A user with this email already exists' },
  external_id_taken: { status: 409, title: 'Another record has this externalId' },
  webhook_endpoint_limit_reached: { status: 409, title: 'The platform has as many webhook endpoints as it may' },
  webhook_url_not_allowed: { status: 422, title: 'Webhooks may not be sent to this address' },
  idempotency_key_reused: { status: 422, title: 'The Idempotency-Key was used with another request' },
  idempotency_in_progress: { status: 409, title: 'A request with this Idempotency-Key is still running' },
  payment_declined: { status: 402, title: 'The payment was declined' },
  insufficient_balance: { status: 422, title: 'The balance does not cover this amount' },
  week_invoiced: { status: 409, title: 'The week is invoiced: its time entries can no longer change' },
  daily_limit_exceeded: { status: 422, title: 'A day holds at most 24 hours of time entries' },
  not_hourly: { status: 422, title: 'Only hourly contracts have time entries, milestone requests and invoices' },
  payment_method_required: { status: 422, title: 'A payment method is required' },
  amount_below_minimum: { status: 422, title: 'The amount is below the minimum' },
  already_member: { status: 409, title: 'This person is already a member of the organisation' },
  invitation_not_usable: { status: 410, title: 'The invitation link was used, revoked or has expired' },
  last_owner: { status: 409, title: 'An organisation keeps at least one owner' },
  second_approver_required: { status: 403, title: 'Another member of the organisation must give the second approval' },
  rate_limited: { status: 429, title: 'Too many requests' },
  upload_quota_exceeded: { status: 429, title: 'The daily upload quota is used up' },
  service_unavailable: { status: 503, title: 'The service is temporarily unavailable' },
  internal_error: { status: 500, title: 'Internal error' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export type FieldError = { field: string; message: string; code?: string };

/** A typed error from the domain or a use case; mapped to an RFC 9457 problem in one place. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly extra: Record<string, unknown> = {},
    readonly errors?: FieldError[],
  ) {
    super(message ?? ERROR_CODES[code].title);
    this.name = 'AppError';
  }
  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

export const notFound = (what: string) => new AppError('not_found', `${what} not found`);
export const forbidden = (why: string) => new AppError('forbidden', why);
export const invalidState = (what: string, state: string, why?: string) =>
  new AppError('invalid_state', why ?? `${what} is ${state}`, { state });
export const validation = (field: string, message: string) =>
  new AppError('validation_failed', `${field}: ${message}`, {}, [{ field, message }]);
