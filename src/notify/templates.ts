import { formatMoney } from '../domain/money.ts';

/** Activity kinds: the typed vocabulary of the contract timeline, notifications and webhooks. */
export const EVENT_KINDS = [
  'contract.created',
  'contract.activated',
  'contract.withdrawn',
  'contract.declined',
  'contract.closed',
  'milestone.added',
  'milestone.updated',
  'milestone.deleted',
  'milestone.accepted',
  'milestone.declined',
  'milestone.reordered',
  'milestone.funded',
  'milestone.funding_failed',
  'milestone.funding_settled',
  'milestone.submitted',
  'milestone.approval_pending',
  'milestone.approved',
  'milestone.auto_approval_due',
  'milestone.auto_approved',
  'milestone.rejected',
  'milestone.released',
  'milestone.refunded',
  'milestone.refund_failed',
  'payment.created',
  'payment.paid',
  'payment.transfer_waiting',
  'payment.transfer_reversed',
  'payment.approval_pending',
  'invoice.approval_pending',
  'change_request.opened',
  'change_request.accepted',
  'change_request.declined',
  'change_request.withdrawn',
  'change_request.failed',
  'change_request.modified',
  'dispute.opened',
  'dispute.responded',
  'dispute.resolved',
  'refund_request.opened',
  'refund_request.accepted',
  'refund_request.countered',
  'refund_request.declined',
  'refund_request.withdrawn',
  'refund_request.escalated',
  'refund_request.failed',
  'milestone_request.created',
  'milestone_request.accepted',
  'milestone_request.declined',
  'milestone_request.withdrawn',
  'invoice.paid',
  'invoice.past_due',
  'invoice.disputed',
  'invoice.voided',
  'hourly_terms.proposed',
  'hourly_terms.accepted',
  'hourly_terms.declined',
  'review.posted',
  'conversation.started',
  'message.created',
  'chargeback.opened',
  'chargeback.closed',
  'payout.failed',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** Platform events: on no contract's timeline, sent only as webhooks (`webhook.test` goes only to the endpoint tested). */
export const PLATFORM_EVENT_KINDS = ['webhook_endpoint.disabled', 'reconciliation.differences_found', 'chargeback.unmatched'] as const;
export type PlatformEventKind = (typeof PLATFORM_EVENT_KINDS)[number];
/** What a webhook endpoint may subscribe to (or `*`: everything). */
export const WEBHOOK_EVENT_TYPES = [...EVENT_KINDS, ...PLATFORM_EVENT_KINDS] as const;

export type EventData = Record<string, unknown> & { title?: string; amount?: number; currency?: string; reason?: string | null };

const money = (d: EventData) => (typeof d.amount === 'number' && d.currency ? formatMoney(d.amount, d.currency) : '');
const amountOf = (d: EventData, key: 'refund' | 'release') => (typeof d[key] === 'number' && d.currency ? formatMoney(d[key] as number, d.currency) : '');
const refund = (d: EventData) => amountOf(d, 'refund');
const release = (d: EventData) => (typeof d.release === 'number' && d.release > 0 ? `, with ${amountOf(d, 'release')} released to the contractor` : '');
const name = (d: EventData) => (d.title ? `“${d.title}”` : 'a milestone');
/** Who acted, as the people involved know them (`by`, the acting user's name), else a role word. */
const who = (d: EventData, fallback: string) => (typeof d.by === 'string' && d.by ? d.by : fallback);
/** What a change set does, in words (`summary`, from describeDiff). */
const what = (d: EventData) => (typeof d.summary === 'string' && d.summary ? `: ${d.summary}` : '');

/** One line a person can read, for the in-app notification and the email subject/body. */
export function describe(kind: EventKind, d: EventData, contractTitle: string): { title: string; body: string } {
  const on = `on “${contractTitle}”`;
  const t = (title: string, body?: string) => ({ title, body: body ?? `${title} ${on}.` });
  switch (kind) {
    case 'contract.created': return t('New contract proposal', `A contract “${contractTitle}” was proposed to you.`);
    case 'contract.activated': return t('Contract is live', `“${contractTitle}” is now active.`);
    case 'contract.withdrawn': return t('Contract proposal withdrawn');
    case 'contract.declined': return t('Contract proposal declined');
    case 'contract.closed': return t('Contract closed');
    case 'milestone.added': return t(`Milestone ${name(d)} added`, `${who(d, 'The other party')} added milestone ${name(d)} (${money(d)}) ${on}.`);
    case 'milestone.updated': return t(`Milestone ${name(d)} changed`, `${who(d, 'The other party')} changed ${name(d)} ${on}${what(d)}.`);
    case 'milestone.deleted': return t(`Milestone ${name(d)} removed`, `${who(d, 'The other party')} removed ${name(d)} ${on}.`);
    case 'milestone.accepted': return t(`Milestone ${name(d)} accepted`);
    case 'milestone.declined': return t(`Milestone ${name(d)} declined`);
    case 'milestone.reordered': return t('Milestones reordered', `${who(d, 'The other party')} reordered the milestones ${on}.`);
    case 'milestone.funded': return t(`Milestone ${name(d)} funded`, `${money(d)} is held in escrow for ${name(d)} ${on}. Work can start.`);
    case 'milestone.funding_failed': return t(`Funding of ${name(d)} failed`, `The deposit of ${money(d)} for ${name(d)} ${on} failed; the escrow was reversed.`);
    case 'milestone.funding_settled': return t(`Funding of ${name(d)} settled`);
    case 'milestone.submitted': return t(`Milestone ${name(d)} submitted for review`);
    case 'milestone.approval_pending': return t(`Milestone ${name(d)} needs a second approval`, `${name(d)} ${on} (${money(d)}) was approved by one member; another member must approve it too before anything is paid.`);
    case 'milestone.approved': return t(`Milestone ${name(d)} approved`);
    case 'milestone.auto_approval_due': return t(`Milestone ${name(d)} will be approved automatically`, `${name(d)} ${on} will be approved automatically at ${String(d.dueAt)} unless it is reviewed.`);
    case 'milestone.auto_approved': return t(`Milestone ${name(d)} approved automatically`, `The review period ended: ${name(d)} ${on} was approved.`);
    case 'milestone.rejected': return t(`Milestone ${name(d)} sent back`, `${name(d)} ${on} was rejected: ${d.reason ?? ''}`);
    case 'milestone.released': return t(`Payment released for ${name(d)}`, `${money(d)} was released for ${name(d)} ${on}.`);
    case 'milestone.refunded': return t(`Escrow refunded for ${name(d)}`, `${money(d)} was refunded for ${name(d)} ${on}.`);
    case 'milestone.refund_failed': return t(`Refund for ${name(d)} failed`, `The payment provider refused the refund of ${money(d)} for ${name(d)} ${on}; the platform will return it another way.`);
    case 'payment.created': return t('Draft payment created', `A draft payment of ${money(d)} was created ${on}.`);
    case 'payment.paid': return t('Payment sent', `A payment of ${money(d)} was paid ${on}.`);
    case 'payment.transfer_waiting': return t('Payment waits for the payout account', `A payment of ${money(d)} ${on} waits for the contractor’s payout account: it is sent as soon as the account can receive money (${d.reason ?? 'not ready'}).`);
    case 'payment.transfer_reversed': return t('Payment taken back', `The platform took back ${money(d)} of a payment sent ${on} from the contractor’s payout account.`);
    case 'payment.approval_pending': return t('Payment needs a second approval', `A payment of ${money(d)} ${on} was paid by one member; another member must pay it too before the card is charged.`);
    case 'change_request.opened': return t(`${who(d, 'The other party')} proposed milestone changes`, `${who(d, 'The other party')} proposed ${on}${what(d)}. The changes wait for your review.`);
    case 'change_request.accepted':
      return d.applied
        ? t(`${who(d, 'The other party')} changed the milestones`, `${who(d, 'The other party')} changed the milestones ${on}${what(d)}.`)
        : t('Milestone changes accepted', `${who(d, 'The other party')} accepted the milestone changes ${on}${what(d)}.`);
    case 'change_request.declined': return t('Milestone changes declined', `${who(d, 'The other party')} declined the proposed milestone changes ${on}${d.reason ? `: ${d.reason}` : '.'}`);
    case 'change_request.withdrawn': return t('Milestone changes withdrawn', `${who(d, 'The other party')} withdrew the proposed milestone changes ${on}.`);
    case 'change_request.modified': return t(`${who(d, 'The other party')} proposed other changes`, `${who(d, 'The other party')} answered your milestone changes ${on} with a counter-proposal${what(d)}. It waits for your review.`);
    case 'change_request.failed': return t('Milestone changes could not be applied', `The proposed changes ${on} could not be applied: ${String(d.reason ?? '')}`);
    case 'dispute.opened': return t(`Dispute opened on ${name(d)}`, `A dispute was opened on ${name(d)} ${on}: ${d.reason ?? ''}`);
    case 'dispute.responded': return t(`Dispute on ${name(d)} answered`);
    case 'dispute.resolved': return t(`Dispute on ${name(d)} resolved`);
    case 'refund_request.opened': return t('Refund requested before closing', `A refund of ${refund(d)} of the escrow ${on} was requested before closing${release(d)}. Accept it, or propose another split, before ${String(d.respondBy ?? '')}.`);
    case 'refund_request.accepted': return t('Refund agreed: contract closed', `The refund of ${refund(d)} was agreed${release(d)}; “${contractTitle}” is closed.`);
    case 'refund_request.countered': return t('Another refund proposed', `A refund of ${refund(d)}${release(d)} was proposed instead ${on}.`);
    case 'refund_request.declined': return t('Refund declined: it goes to a dispute', `The refund ${on} was declined${d.reason ? `: ${d.reason}` : ''}. The escrow is now disputed; the platform will settle it.`);
    case 'refund_request.withdrawn': return t('Refund request withdrawn');
    case 'refund_request.escalated': return t('Refund unanswered: it goes to a dispute', `The refund request ${on} was not answered in time. The escrow is now disputed; the platform will settle it.`);
    case 'refund_request.failed': return t('Refund could not be applied', `The escrow ${on} changed since the refund was requested; ask again.`);
    case 'milestone_request.created': return t('Milestone payment requested', `A milestone payment of ${money(d)} was requested ${on}: ${String(d.description ?? '')}`);
    case 'milestone_request.accepted': return t('Milestone request accepted', `The request for ${money(d)} ${on} was accepted: it is now a milestone payment held in escrow.`);
    case 'milestone_request.declined': return t('Milestone request declined', `The request for ${money(d)} ${on} was declined${d.reason ? `: ${d.reason}` : '.'}`);
    case 'milestone_request.withdrawn': return t('Milestone request withdrawn');
    case 'invoice.approval_pending': return t(`Invoice ${String(d.number ?? '')} needs a second approval`, `Invoice ${String(d.number ?? '')} (${money(d)}) ${on} was paid by one member; another member must pay it too before the card is charged.`);
    case 'invoice.paid': return t(`Invoice ${String(d.number ?? '')} paid`, `Invoice ${String(d.number ?? '')} (${money(d)}) ${on} was paid.`);
    case 'invoice.past_due': return t(`Invoice ${String(d.number ?? '')} is past due`, `The payment of invoice ${String(d.number ?? '')} (${money(d)}) ${on} failed: ${String(d.reason ?? '')}. The client can pay it now; it is retried daily.`);
    case 'invoice.disputed': return t(`Invoice ${String(d.number ?? '')} disputed`, `Invoice ${String(d.number ?? '')} ${on} was disputed and is held from payment: ${d.reason ?? ''}`);
    case 'invoice.voided': return t(`Invoice ${String(d.number ?? '')} voided`);
    case 'hourly_terms.proposed': return t('New hourly terms proposed', `New terms were proposed ${on}: ${money(d)} per hour${d.weeklyLimitHours ? `, at most ${String(d.weeklyLimitHours)} hours a week` : ', no weekly limit'}.`);
    case 'hourly_terms.accepted': return t('Hourly terms changed', `From ${String(d.effectiveFrom ?? 'next Monday')}, ${on}: ${money(d)} per hour${d.weeklyLimitHours ? `, at most ${String(d.weeklyLimitHours)} hours a week` : ', no weekly limit'}.`);
    case 'hourly_terms.declined': return t('Proposed hourly terms declined');
    case 'review.posted': return t(`${who(d, 'The other party')} left a review`, `${who(d, 'The other party')} reviewed your work ${on}. ${d.visible ? 'Both reviews are now visible.' : `You see it when you leave yours, or from ${String(d.revealsAt ?? '').slice(0, 10)}.`}`);
    case 'conversation.started': return t('Conversation started', `The parties started a conversation ${on}.`);
    case 'message.created': return t(`New message from ${String(d.authorName ?? 'the other party')}`, `${String(d.authorName ?? 'The other party')} wrote ${on}: ${String(d.excerpt ?? '')}`);
    case 'chargeback.opened': return t('Card payment disputed with the bank', `The client's bank disputes a card payment of ${money(d)} ${on}${d.milestoneTitle ? `; the escrow of “${String(d.milestoneTitle)}” is frozen until the bank decides` : ''}.`);
    case 'chargeback.closed':
      return d.outcome === 'lost'
        ? t('Bank dispute lost', `The bank decided for the client: ${money(d)} of the card payment ${on} went back to the client's card${d.milestoneTitle ? ` from the escrow of “${String(d.milestoneTitle)}”` : ''}.`)
        : t('Bank dispute won', `The bank decided for the platform: the card payment of ${money(d)} ${on} stands${d.milestoneTitle ? ` and the escrow of “${String(d.milestoneTitle)}” is no longer frozen` : ''}.`);
    // A user's event, on no contract (contractTitle is empty).
    case 'payout.failed': return t('A payout to your bank failed', `The payment provider could not pay ${money(d)} out of your payout account to your bank${d.code ? ` (${String(d.code)})` : ''}. The money is back in your payout account; check your bank details with the provider.`);
  }
}
