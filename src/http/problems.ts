import { ERROR_CODES, type ErrorCode } from '../domain/errors.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** Under TRANCHE_CHECK_RESPONSES: problems answered with a code their route does not list. */
    undocumentedProblems: string[];
  }
}

/**
 * The problem codes each operation can answer, as the OpenAPI document lists them: the codes
 * any route of its kind can answer, derived from what the route is (it takes input, it is
 * authenticated, it changes something, it names a resource in its path, it is a POST with an
 * Idempotency-Key), plus the codes of what it does, from `DOMAIN_PROBLEMS` below.
 *
 * Kept true by the tests: under TRANCHE_CHECK_RESPONSES (every test server) a problem whose code
 * the route does not list is recorded, and the test harness fails the file that caused it.
 */

/** Codes of what an operation does (by operationId), beyond those of its kind. */
export const DOMAIN_PROBLEMS: Record<string, ErrorCode[]> = {
  createUser: ['email_taken', 'external_id_taken'],
  loginAuth: ['unauthenticated', 'rate_limited'],
  setMePaymentMethod: ['payment_declined'],
  setOrganizationPaymentMethod: ['payment_declined'],
  receiveStripeWebhook: ['not_found'],

  createContract: ['external_id_taken', 'limit_exceeded', 'amount_below_minimum', 'not_found'],
  activateContract: ['invalid_state', 'version_mismatch', 'limit_exceeded'],
  withdrawContract: ['invalid_state', 'version_mismatch'],
  declineContract: ['invalid_state', 'version_mismatch'],
  closeContract: ['invalid_state', 'version_mismatch', 'funding_pending', 'refund_request_open', 'change_request_open', 'second_approver_required', 'escrow_frozen'],

  createContractTimeEntry: ['not_hourly', 'invalid_state', 'week_invoiced', 'daily_limit_exceeded'],
  listContractTimeEntries: ['not_hourly'],
  updateTimeEntry: ['invalid_state', 'week_invoiced', 'daily_limit_exceeded'],
  deleteTimeEntry: ['invalid_state', 'week_invoiced'],
  getContractHourly: ['not_hourly'],
  createContractHourlyTerm: ['not_hourly', 'invalid_state', 'change_request_open'],
  listContractHourlyTerms: ['not_hourly'],
  acceptHourlyTerm: ['invalid_state'],
  declineHourlyTerm: ['invalid_state'],
  withdrawHourlyTerm: ['invalid_state'],
  createContractMilestoneRequest: ['not_hourly', 'invalid_state', 'amount_below_minimum', 'limit_exceeded'],
  listContractMilestoneRequests: ['not_hourly'],
  acceptMilestoneRequest: ['invalid_state', 'limit_exceeded', 'amount_below_minimum', 'funding_limit_reached', 'payment_declined', 'payment_method_required', 'funding_pending'],
  declineMilestoneRequest: ['invalid_state', 'funding_pending'],
  withdrawMilestoneRequest: ['invalid_state', 'funding_pending'],
  listContractInvoices: ['not_hourly'],
  payInvoice: ['invalid_state', 'version_mismatch', 'payment_declined', 'payment_method_required', 'second_approver_required', 'amount_below_minimum'],
  disputeInvoice: ['invalid_state'],
  voidInvoice: ['invalid_state'],

  createContractMilestone: ['invalid_state', 'change_request_open', 'limit_exceeded', 'amount_below_minimum', 'external_id_taken'],
  updateMilestone: ['invalid_state', 'version_mismatch', 'change_request_open', 'limit_exceeded', 'amount_below_minimum', 'funding_pending'],
  deleteMilestone: ['invalid_state', 'version_mismatch', 'change_request_open', 'funding_pending', 'escrow_frozen'],
  setContractMilestoneOrder: ['invalid_state', 'change_request_open'],
  acceptMilestone: ['invalid_state', 'version_mismatch', 'limit_exceeded'],
  declineMilestone: ['invalid_state'],
  fundMilestone: ['invalid_state', 'version_mismatch', 'funding_limit_reached', 'funding_pending', 'amount_below_minimum', 'payment_declined', 'payment_method_required'],
  submitMilestone: ['invalid_state', 'version_mismatch', 'funding_pending'],
  approveMilestone: ['invalid_state', 'version_mismatch', 'funding_pending', 'second_approver_required', 'escrow_frozen'],
  rejectMilestone: ['invalid_state', 'version_mismatch', 'funding_pending', 'revision_limit_reached'],
  releaseMilestone: ['invalid_state', 'version_mismatch', 'funding_pending', 'payment_declined', 'payment_method_required', 'funding_limit_reached', 'amount_below_minimum', 'no_next_milestone', 'second_approver_required', 'escrow_frozen'],
  refundMilestone: ['invalid_state', 'version_mismatch', 'funding_pending', 'escrow_frozen'],
  disputeMilestone: ['invalid_state', 'funding_pending'],

  createContractChangeRequest: ['invalid_state', 'change_request_open', 'limit_exceeded', 'amount_below_minimum'],
  acceptChangeRequest: ['invalid_state', 'version_mismatch', 'limit_exceeded'],
  previewContractChangeRequest: ['invalid_state', 'change_request_open', 'limit_exceeded', 'amount_below_minimum'],
  createContractReview: ['invalid_state', 'review_exists'],
  postMePassword: ['current_password_incorrect'],
  modifyChangeRequest: ['invalid_state', 'version_mismatch', 'change_request_open', 'limit_exceeded', 'amount_below_minimum'],
  previewModifyChangeRequest: ['invalid_state', 'change_request_open', 'limit_exceeded', 'amount_below_minimum'],
  declineChangeRequest: ['invalid_state'],
  withdrawChangeRequest: ['invalid_state'],
  respondDispute: ['invalid_state'],
  resolveDispute: ['invalid_state', 'escrow_frozen'],
  payPayment: ['invalid_state', 'version_mismatch', 'payment_declined', 'payment_method_required', 'second_approver_required', 'amount_below_minimum'],
  createPayout: ['insufficient_balance', 'payment_declined', 'invalid_state'],
  createAdminReconciliation: ['invalid_state'],
  createAdminSandboxChargeback: ['not_found'],
  payPayments: ['not_found', 'invalid_state', 'payment_declined', 'payment_method_required', 'second_approver_required', 'amount_below_minimum'],

  createContractMessage: ['invalid_state'],
  listEvents: ['rate_limited'],
  createFile: ['upload_quota_exceeded'],

  createWebhookEndpoint: ['webhook_url_not_allowed', 'webhook_endpoint_limit_reached'],
  updateWebhookEndpoint: ['webhook_url_not_allowed'],
  deleteAdminToken: ['invalid_state'],
  rotateAdminToken: ['invalid_state'],
  updateAdminPlatform: ['version_mismatch'],
  updateAdminUser: ['external_id_taken', 'version_mismatch'],
  updateAdminContract: ['external_id_taken', 'version_mismatch'],
  updateAdminMilestone: ['external_id_taken', 'version_mismatch'],

  acceptRefundRequest: ['invalid_state', 'funding_pending', 'second_approver_required', 'escrow_frozen'],
  counterRefundRequest: ['invalid_state', 'second_approver_required'],
  declineRefundRequest: ['invalid_state'],
  withdrawRefundRequest: ['invalid_state'],

  updateOrganizationMember: ['last_owner'],
  deleteOrganizationMember: ['last_owner'],
  createOrganizationInvitation: ['already_member', 'invalid_state'],
  deleteOrganizationInvitation: ['invalid_state'],
  acceptInvitation: ['invitation_not_usable', 'already_member', 'email_taken', 'unauthenticated', 'forbidden'],
};

export type RouteShape = { method: string; url: string; operationId: string; isPublic: boolean };

/** Every code the operation can answer with a 4xx status. */
export function problemCodesFor(r: RouteShape): ErrorCode[] {
  const codes = new Set<ErrorCode>(['malformed_request', 'validation_failed']);
  if (!r.isPublic) codes.add('unauthenticated').add('forbidden');
  if (r.url.includes(':') || r.url.includes('{')) codes.add('not_found');
  if (r.method !== 'GET' && r.method !== 'HEAD') codes.add('csrf_refused').add('payload_too_large').add('unsupported_media_type').add('conflict');
  if (r.method === 'POST') codes.add('idempotency_key_reused').add('idempotency_in_progress');
  for (const c of DOMAIN_PROBLEMS[r.operationId] ?? []) codes.add(c);
  return Object.keys(ERROR_CODES).filter((c): c is ErrorCode => codes.has(c as ErrorCode) && ERROR_CODES[c as ErrorCode].status < 500);
}

/** `/v1/milestones/:id/fund` → `/v1/milestones/{id}/fund`, as the document names paths. */
export const documentPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

type Operation = { operationId?: string; responses?: Record<string, unknown> };
type Doc = { paths?: Record<string, Record<string, Operation>> };

/**
 * Replaces each operation's catch-all `4XX` answer with one answer per status it can have, each
 * naming its codes in its description: `409` → `invalid_state`, `version_mismatch`. (Narrowing the
 * Problem schema per answer as well tripled the size of the document and of the typed client.)
 */
export function documentProblems<T extends Doc>(doc: T, codesOf: (path: string, method: string) => ErrorCode[] | undefined): T {
  for (const [path, ops] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(ops)) {
      const codes = codesOf(path, method.toUpperCase());
      if (!codes || !op.responses?.['4XX']) continue;
      const { '4XX': _generic, '5XX': server, ...rest } = op.responses;
      const byStatus = new Map<number, ErrorCode[]>();
      for (const c of codes) byStatus.set(ERROR_CODES[c].status, [...(byStatus.get(ERROR_CODES[c].status) ?? []), c]);
      const problems = Object.fromEntries(
        [...byStatus].sort(([a], [b]) => a - b).map(([status, cs]) => [
          String(status),
          {
            description: cs.map((c) => `\`${c}\`: ${ERROR_CODES[c].title}`).join('; '),
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Problem' } } },
          },
        ]),
      );
      const serverCodes: ErrorCode[] = ['internal_error', 'service_unavailable'];
      op.responses = { ...rest, ...problems, ...(server ? { '5XX': { ...server, description: serverCodes.map((c) => `\`${c}\`: ${ERROR_CODES[c].title}`).join('; ') } } : {}) };
    }
  }
  return doc;
}
