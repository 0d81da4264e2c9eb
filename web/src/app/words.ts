/**
 * What people read: a sentence for every error code the API can answer with, names of policy
 * presets, statuses, payment kinds and test cards. Identifiers (`sequential_escrow`,
 * `in_progress`, `pm_card_ok`) and minor units never reach the screen; the server's `detail`
 * and validator messages are written for developers and are not shown either.
 */
import type { components } from '@tranche/client';
import { formatMoney } from '../money.ts';

type ErrorCode = components['schemas']['Problem']['code'];

/** What a sentence may use from a failed call (an ApiError has all of it). */
export type ProblemLike = {
  status: number;
  code: string;
  errors: { field: string; message: string; code?: string }[];
  extra: Record<string, unknown>;
};

/** Where the error happened, when the problem itself does not say: the contract's currency. */
export type WordsContext = { currency?: string };

const money = (minor: unknown, currency: unknown): string | null =>
  typeof minor === 'number' && typeof currency === 'string' && /^[A-Z]{3}$/.test(currency) ? formatMoney(minor, currency) : null;

const retryAfter = (p: ProblemLike) => (typeof p.extra.retryAfter === 'number' ? ` Try again in ${Math.max(1, Math.ceil(p.extra.retryAfter / 60))} minute(s).` : ' Try again in a little while.');

type Say = (p: ProblemLike, ctx: WordsContext) => string;

/**
 * One sentence for every stable code (src/domain/errors.ts, Problem.code in the client). The
 * `satisfies` makes the compiler refuse a new code in the API that has no sentence here.
 */
const SENTENCES = {
  validation_failed: (p, ctx) => fieldSentence(p, ctx),
  malformed_request: () => 'The app sent something the server could not read. Reload the page and try again.',
  payload_too_large: () => 'That is too large to send. For files, choose a smaller one.',
  unsupported_media_type: () => 'That kind of file or content cannot be sent here.',
  unauthenticated: () => 'The email or password is wrong, or your session has ended. Please log in.',
  forbidden: () => 'You may not do this on this contract, or not at this moment (it may be the other party’s turn).',
  csrf_refused: () => 'This change was refused because it did not come from the Tranche app. Reload the page and try again.',
  not_found: () => 'This was not found. It may have been removed, or it is not shared with you.',
  invalid_state: (p) =>
    typeof p.extra.state === 'string'
      ? `This cannot be done while it is ${statusWord(p.extra.state).toLowerCase()}. The page now shows its current state.`
      : 'This cannot be done in its current state. The page now shows its current state.',
  conflict: () => 'Someone changed this at the same moment. The page now shows the latest version: please try again.',
  version_mismatch: () => 'This was changed since you opened it. The page now shows the latest version: please try again.',
  funding_limit_reached: (p) =>
    typeof p.extra.limit === 'number' && p.extra.limit > 1
      ? `This contract holds at most ${p.extra.limit} funded milestones at a time. Finish one before funding another.`
      : 'Another milestone is already funded. This contract funds one milestone at a time: finish it first.',
  change_request_open: () => 'A change request is waiting for an answer on this contract. Answer or withdraw it first.',
  refund_request_open: () => 'A refund request is waiting for an answer on this contract. Answer or withdraw it first.',
  limit_exceeded: (p) =>
    typeof p.extra.count === 'number' && typeof p.extra.limit === 'number' && !('total' in p.extra)
      ? `A contract holds at most ${p.extra.limit} milestones.`
      : 'The milestones of one contract cannot add up to that much. Split the work into another contract.',
  revision_limit_reached: () => 'This milestone was sent back as often as the contract allows. Approve it or open a dispute.',
  funding_pending: () => 'The escrow deposit is still being processed. Try again once it has settled.',
  escrow_frozen: () => 'The client’s bank is disputing the card payment behind this escrow. Nothing can be released or refunded until the bank decides.',
  no_next_milestone: () => 'There is no agreed, unfunded milestone after this one to move the rest to. Keep it in escrow or refund it instead.',
  review_exists: () => 'You already reviewed this contract. A review cannot be changed once it is sent.',
  current_password_incorrect: () => 'Your current password is not correct.',
  email_taken: () => 'Someone already has an account with this email address.',
  external_id_taken: () => 'Another record already uses this reference.',
  webhook_endpoint_limit_reached: () => 'The platform has as many webhook endpoints as it may. Remove one first.',
  webhook_url_not_allowed: () => 'Webhooks may only be sent to public internet addresses.',
  idempotency_key_reused: () => 'This request was already sent with other content. Reload the page and try again.',
  idempotency_in_progress: () => 'This request is still being processed. Wait a moment, then reload the page.',
  payment_declined: () => 'The card was declined. Choose another card under Account, then try again.',
  insufficient_balance: () => 'Your available balance does not cover this payout. Choose a smaller amount.',
  week_invoiced: () => 'That week is already invoiced: its hours can no longer change.',
  daily_limit_exceeded: () => 'A day holds at most 24 hours of time entries.',
  not_hourly: () => 'Only hourly contracts have time entries, payment requests and invoices.',
  payment_method_required: () => 'Add a payment method under Account first.',
  amount_below_minimum: (p, ctx) => {
    const m = money(p.extra.minimum, p.extra.currency ?? ctx.currency);
    return m ? `The amount is below the minimum of ${m}.` : 'The amount is below the minimum for this contract.';
  },
  already_member: () => 'This person is already a member of the organisation.',
  invitation_not_usable: () => 'This invitation link was used, revoked or has expired. Ask for a new one.',
  last_owner: () => 'An organisation keeps at least one owner. Make someone else an owner first.',
  second_approver_required: () => 'Your organisation needs a second member to approve this. Another member with the right role must confirm it.',
  rate_limited: (p) => `Too many attempts.${retryAfter(p)}`,
  upload_quota_exceeded: () => 'You have uploaded as much as you may today. Try again tomorrow.',
  service_unavailable: () => 'Tranche is briefly unavailable. Please try again in a moment.',
  internal_error: () => 'Something went wrong on our side. Nothing was changed; please try again.',
  // Every code must have a sentence; a sentence for a code the client does not list yet is allowed
  // (the API and the web app land their halves in separate commits).
} satisfies Record<ErrorCode, Say> & Record<string, Say>;

export function problemSentence(p: ProblemLike, ctx: WordsContext = {}): string {
  if (p.code === 'network') return 'The server cannot be reached. Check your connection and try again.';
  const say = (SENTENCES as Record<string, Say>)[p.code];
  if (say) return say(p, ctx);
  return p.status >= 500 ? SENTENCES.internal_error() : 'That did not work. Please check what you entered and try again.';
}

/** Every code with its sentence: the words test checks none is missing or raw. */
export const ERROR_SENTENCE_CODES = Object.keys(SENTENCES) as ErrorCode[];

/* ---------- validation: name the fields, say what is wrong, in words ---------- */

const FIELD_LABELS: Record<string, string> = {
  title: 'the title',
  description: 'the description',
  amount: 'the amount',
  dueDate: 'the due date',
  email: 'the email address',
  password: 'the password',
  currentPassword: 'your current password',
  newPassword: 'the new password',
  name: 'the name',
  currency: 'the currency',
  clientId: 'the client',
  contractorId: 'the contractor',
  counterpartyEmail: 'the other party’s email',
  otherPartyEmail: 'the other party’s email',
  hourlyRate: 'the hourly rate',
  weeklyLimitHours: 'the weekly limit',
  policy: 'the way of working',
  milestones: 'the milestones',
  paymentMethod: 'the card',
  reason: 'the reason',
  note: 'the note',
  message: 'the message',
  body: 'the message',
  refund: 'the refund',
  release: 'the release',
  releaseAmount: 'the amount to release',
  refundAmount: 'the amount to refund',
  rating: 'the rating',
  comment: 'the comment',
  attachmentIds: 'the attached files',
  file: 'the file',
  text: 'the text',
  rest: 'what happens to the rest',
};

/** `milestones[1].dueDate` → "the due date of milestone 2". */
export function fieldLabel(field: string): string {
  const m = /^(\w+)\[(\d+)\]\.?(.*)$/.exec(field);
  if (m) {
    const item = m[1] === 'milestones' ? 'milestone' : m[1] === 'operations' ? 'change' : 'item';
    const inner = m[3] ? fieldLabel(m[3]) : '';
    return `${inner ? `${inner} of ` : ''}${item} ${Number(m[2]) + 1}`;
  }
  const last = field.split('.').pop() ?? field;
  return FIELD_LABELS[field] ?? FIELD_LABELS[last] ?? last.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

/** What is wrong with a field, from the validator's keyword (never its message). */
function fieldProblem(e: ProblemLike['errors'][number], p: ProblemLike, ctx: WordsContext): string {
  const held = money(p.extra.inEscrow, ctx.currency);
  if (/must be at most|cannot exceed|must equal/.test(e.message) && held) return `must fit the ${held} held in escrow`;
  switch (e.code) {
    case 'too_small':
      return 'is missing or too small';
    case 'too_big':
      return 'is too long or too large';
    case 'invalid_type':
      return 'is missing';
    case 'invalid_format':
    case 'invalid_string':
      return /email/i.test(e.field) ? 'is not an email address' : /date/i.test(e.field) ? 'is not a date' : 'is not in the expected form';
    case 'invalid_value':
    case 'invalid_enum_value':
    case 'invalid_union':
      return 'is not one of the choices';
    case 'unknown_field':
      return 'is not expected here';
  }
  if (/past|today|earlier|future/.test(e.message)) return /future/.test(e.message) ? 'cannot be in the past' : 'cannot be in the future';
  if (/is required|required/.test(e.message)) return 'is missing';
  if (/not a payment method/.test(e.message)) return 'is not a card Tranche knows';
  if (/not the email of a user/.test(e.message)) return 'belongs to nobody on Tranche yet: ask them to sign up first, or check the spelling';
  if (/empty/.test(e.message)) return 'is empty';
  return 'is not valid';
}

function fieldSentence(p: ProblemLike, ctx: WordsContext): string {
  const held = money(p.extra.inEscrow, ctx.currency);
  if (p.errors.length === 0) {
    return held ? `The amounts must fit the ${held} held in escrow.` : 'Some of what was entered is not valid. Please check the form and try again.';
  }
  const parts = [...new Set(p.errors.map((e) => `${fieldLabel(e.field)} ${fieldProblem(e, p, ctx)}`))];
  const list = parts.length === 1 ? parts[0]! : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
  return `Please check the form: ${list}.`;
}

/* ---------- policies, statuses, kinds, cards ---------- */

/** The six presets of src/domain/policy.ts in plain words, with one line each on what they mean. */
export const PRESET_WORDS = {
  sequential_escrow: {
    name: 'Escrow, one milestone at a time',
    explain: 'The client funds one milestone at a time into escrow; the contractor’s proposals need the client’s agreement.',
  },
  company_managed: {
    name: 'Company approves and pays',
    explain: 'The company adds and edits the work alone and pays each milestone after approving it, without escrow.',
  },
  client_creates: {
    name: 'Client sets the milestones',
    explain: 'The client adds the milestones; the contractor accepts each before it is funded into escrow.',
  },
  contractor_creates: {
    name: 'Contractor proposes the milestones',
    explain: 'The contractor adds the milestones; the client accepts and funds each into escrow.',
  },
  hourly_requests: {
    name: 'Hourly, with payment requests',
    explain: 'Hours are billed weekly; the client may also add fixed payments for agreed pieces of work.',
  },
  accept_every_change: {
    name: 'Every change agreed, funded before work',
    explain: 'The client proposes; the contractor accepts every milestone and change, and each is funded before work starts.',
  },
} as const;
export type PresetName = keyof typeof PRESET_WORDS;

/** A policy's preset in words; a preset the app does not know yet is named generically, never by its identifier. */
export const presetName = (preset: string) => (PRESET_WORDS as Record<string, { name: string }>)[preset]?.name ?? 'Custom way of working';

const STATUS_WORDS: Record<string, string> = {
  // contracts
  proposal: 'Offer',
  active: 'Active',
  closed: 'Closed',
  withdrawn: 'Withdrawn',
  declined: 'Declined',
  // milestones
  proposed: 'Proposed',
  accepted: 'Accepted',
  funded: 'Funded',
  in_progress: 'In progress',
  submitted: 'Submitted',
  approved: 'Approved',
  paid: 'Paid',
  disputed: 'Disputed',
  refunded: 'Refunded',
  cancelled: 'Cancelled',
  // payments, disputes, requests
  draft: 'To pay',
  processing: 'Processing',
  failed: 'Failed',
  open: 'Open',
  responded: 'Answered',
  resolved: 'Resolved',
};
export const statusWord = (s: string) => STATUS_WORDS[s] ?? s.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

const KIND_WORDS: Record<string, string> = {
  milestone: 'Milestone payment',
  partial_release: 'Partial payment',
  dispute_release: 'Dispute settlement',
  close_release: 'Payment at close',
  invoice: 'Weekly invoice',
};
export const paymentKindWord = (k: string) => KIND_WORDS[k] ?? 'Payment';

/** The embedded sandbox provider's test cards (see PUT /v1/me/payment-method), by name. */
export const TEST_CARDS = [
  { id: 'pm_card_ok', name: 'Test card that always pays', explain: 'Every charge succeeds.' },
  { id: 'pm_card_declined', name: 'Test card that is declined', explain: 'Every charge is declined at once.' },
  { id: 'pm_card_fails_later', name: 'Test card that fails later', explain: 'Charges are accepted, then fail while settling: the escrow is reversed.' },
] as const;
export const cardName = (pm: string | null | undefined) =>
  pm ? (TEST_CARDS.find((c) => c.id === pm)?.name ?? 'Your saved card') : 'No card yet';

export const roleWord = (r: 'client' | 'contractor') => (r === 'client' ? 'Client' : 'Contractor');

/* ---------- kinds of event (notification preferences) and next actions ---------- */

const AREA_WORDS: Record<string, string> = {
  contract: 'Contracts',
  milestone: 'Milestones',
  payment: 'Payments',
  change_request: 'Change requests',
  dispute: 'Disputes',
  refund_request: 'Refund requests',
  milestone_request: 'Payment requests (hourly)',
  invoice: 'Invoices (hourly)',
  hourly_terms: 'Hourly terms',
  review: 'Reviews',
  conversation: 'Messages',
  message: 'Messages',
  payout: 'Payouts',
};

const EVENT_WORDS: Record<string, string> = {
  'contract.created': 'An offer is made to you',
  'contract.activated': 'An offer is accepted',
  'contract.withdrawn': 'An offer is withdrawn',
  'contract.declined': 'An offer is declined',
  'contract.closed': 'A contract is closed',
  'milestone.added': 'A milestone is added',
  'milestone.updated': 'A milestone is changed',
  'milestone.deleted': 'A milestone is removed',
  'milestone.accepted': 'A milestone is accepted',
  'milestone.declined': 'A milestone is declined',
  'milestone.reordered': 'Milestones are reordered',
  'milestone.funded': 'A milestone is funded',
  'milestone.funding_failed': 'Funding a milestone failed',
  'milestone.funding_settled': 'A deposit has settled',
  'milestone.submitted': 'Work is submitted for review',
  'milestone.approval_pending': 'An approval waits for a second member',
  'milestone.approved': 'Work is approved',
  'milestone.auto_approval_due': 'Work will soon be approved automatically',
  'milestone.auto_approved': 'Work was approved automatically',
  'milestone.rejected': 'Work is sent back',
  'milestone.released': 'Money is released',
  'milestone.refunded': 'Money is refunded',
  'milestone.refund_failed': 'A refund failed',
  'payment.created': 'A payment is due',
  'payment.paid': 'A payment is made',
  'payment.transfer_waiting': 'A payment waits for the payout account',
  'payment.transfer_reversed': 'A payment was taken back',
  'payment.approval_pending': 'A payment waits for a second member',
  'change_request.opened': 'Changes are proposed',
  'change_request.accepted': 'Proposed changes are accepted',
  'change_request.declined': 'Proposed changes are declined',
  'change_request.withdrawn': 'Proposed changes are withdrawn',
  'change_request.failed': 'Proposed changes could not be applied',
  'change_request.modified': 'Proposed changes are answered with other changes',
  'dispute.opened': 'A dispute is opened',
  'dispute.responded': 'A dispute is answered',
  'dispute.resolved': 'A dispute is resolved',
  'refund_request.opened': 'A refund is asked for',
  'refund_request.accepted': 'A refund request is accepted',
  'refund_request.countered': 'A refund request gets a counter-offer',
  'refund_request.declined': 'A refund request is declined',
  'refund_request.withdrawn': 'A refund request is withdrawn',
  'refund_request.escalated': 'A refund request becomes a dispute',
  'refund_request.failed': 'A refund could not be made',
  'milestone_request.created': 'A payment is requested',
  'milestone_request.accepted': 'A payment request is accepted',
  'milestone_request.declined': 'A payment request is declined',
  'milestone_request.withdrawn': 'A payment request is withdrawn',
  'invoice.paid': 'An invoice is paid',
  'invoice.approval_pending': 'An invoice payment waits for a second member',
  'invoice.past_due': 'An invoice is past due',
  'invoice.disputed': 'An invoice is disputed',
  'invoice.voided': 'An invoice is voided',
  'hourly_terms.proposed': 'New hourly terms are proposed',
  'hourly_terms.accepted': 'New hourly terms are accepted',
  'hourly_terms.declined': 'New hourly terms are declined',
  'review.posted': 'You are reviewed',
  'conversation.started': 'A conversation starts',
  'message.created': 'A message is written to you',
  'chargeback.opened': 'The client’s bank disputes a card payment',
  'chargeback.closed': 'The bank decided on a disputed card payment',
  'payout.failed': 'A payout to your bank failed',
};

/** The area of a kind of event ("Milestones") and what it says ("Work is submitted for review"); never the identifier. */
export function eventWords(kind: string): { area: string; text: string } {
  const [area = '', what = ''] = kind.split('.');
  return {
    area: AREA_WORDS[area] ?? 'Other',
    text: EVENT_WORDS[kind] ?? `${(AREA_WORDS[area] ?? 'Something').replace(/s$/, '')} ${what.replace(/_/g, ' ')}`,
  };
}

/**
 * A contractor's payout account at the payment provider (`GET /v1/me/payout-account` with
 * Stripe): where it stands, what that means for their money, and the button that moves it on.
 */
const PAYOUT_ACCOUNT_WORDS: Record<string, { title: string; text: string; action: string | null }> = {
  none: {
    title: 'Set up your payout account',
    text: 'To receive what clients release to you, open a payout account with Stripe, our payment provider. It takes a few minutes; Stripe asks who you are and where your bank account is.',
    action: 'Set up payouts',
  },
  onboarding: {
    title: 'Your payout account is not finished',
    text: 'Stripe still needs some details before it can send you money. Payments released to you wait until then.',
    action: 'Finish setting up payouts',
  },
  verifying: {
    title: 'Stripe is checking your details',
    text: 'You have sent what Stripe asked for; it is verifying it, which usually takes minutes and sometimes a few days. Payments released to you wait until then.',
    action: 'Review your payout details',
  },
  enabled: {
    title: 'Your payout account is ready',
    text: 'Payments released to you are sent to your payout account at Stripe, and Stripe pays them out to your bank on its schedule.',
    action: null,
  },
};
export const payoutAccountWords = (status: string) => PAYOUT_ACCOUNT_WORDS[status] ?? PAYOUT_ACCOUNT_WORDS.none!;

/** Why a bank refused a payout (the provider's failure code), as the end of "Stripe could not pay … to your bank: …". */
const PAYOUT_FAILURE_WORDS: Record<string, string> = {
  account_closed: 'the bank account is closed',
  no_account: 'the bank account could not be found',
  account_frozen: 'the bank account is frozen',
  invalid_account_number: 'the account number is not valid',
  incorrect_account_holder_name: 'the name does not match the bank account’s holder',
  bank_account_restricted: 'the bank account does not accept this kind of payment',
  invalid_currency: 'the bank account cannot receive this currency',
  debit_not_authorized: 'the bank did not authorise it',
};
export const payoutFailureWord = (code: string | null) => (code && PAYOUT_FAILURE_WORDS[code]) ?? 'the bank refused it';

/** What waits for the caller on a contract (Contract.nextAction), as a call to action. */
const NEXT_ACTION_WORDS: Record<string, string> = {
  accept_proposal: 'Accept or decline the offer',
  answer_change_request: 'Answer the proposed changes',
  answer_refund_request: 'Answer the refund request',
  respond_dispute: 'Answer the dispute',
  accept_milestone: 'Answer a proposed milestone',
  fund: 'Fund the next milestone',
  submit: 'Do the work and submit it',
  review: 'Review submitted work',
  pay: 'Pay approved work',
  leave_review: 'Leave a review',
};
export const nextActionWord = (a: string) => NEXT_ACTION_WORDS[a] ?? 'Open the contract';
