import type { Activity } from '../../api.ts';
import { eventWords } from '../../app/words.ts';
import { formatTime } from '../../format.ts';
import { formatMoney } from '../../money.ts';
import { useActivity, useContractView, type Role } from './contract-data.ts';

/** The contract's timeline (seed 004 "recent activities"): who did what, when, with the amounts. */
export function ActivityList() {
  const { contract, role } = useContractView();
  const activity = useActivity(contract.id);
  const list = activity.data ?? [];
  const titles = new Map((contract.milestones ?? []).map((m) => [m.id, m.title]));
  return (
    <section aria-labelledby="activity-title" className="card">
      <h2 id="activity-title">Activity</h2>
      {activity.isPending ? (
        <p className="muted">Loading…</p>
      ) : list.length === 0 ? (
        <p className="muted">Nothing happened yet.</p>
      ) : (
        <ol className="timeline">
          {list.map((a) => (
            <li key={a.id}>
              <time dateTime={a.createdAt}>{formatTime(a.createdAt)}</time>
              <span>{describeActivity(a, role, contract.currency, titles)}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

/** One readable line per activity entry; amounts are formatted from minor units. */
export function describeActivity(a: Activity, viewer: Role, currency: string, titles: ReadonlyMap<string, string> = new Map()): string {
  const who = a.actorRole === viewer ? 'You' : a.actorRole === 'system' ? 'Tranche' : a.actorRole === 'admin' ? 'The platform admin' : `The ${a.actorRole}`;
  const d = a.data;
  // Some events name their milestone only by id: its title comes from the contract.
  const named = typeof d.title === 'string' ? d.title : a.milestoneId ? titles.get(a.milestoneId) : undefined;
  const title = named ? `“${named}”` : 'a milestone';
  const cur = typeof d.currency === 'string' ? d.currency : currency;
  const amount = typeof d.amount === 'number' ? formatMoney(d.amount, cur) : '';
  const reason = typeof d.reason === 'string' && d.reason ? `: ${d.reason}` : '';
  // Change events carry what changed in words (`summary`), e.g. "add “Logo” (300.00 USD)".
  const summary = typeof d.summary === 'string' && d.summary ? `: ${d.summary}` : '';
  switch (a.kind) {
    case 'contract.created': return `${who} proposed the contract`;
    case 'contract.activated': return `${who} activated the contract`;
    case 'contract.withdrawn': return `${who} withdrew the proposal`;
    case 'contract.declined': return `${who} declined the proposal`;
    case 'contract.closed': return `${who} closed the contract`;
    case 'milestone.added': return `${who} added ${title} (${amount})${d.status === 'proposed' ? ', waiting for acceptance' : ''}`;
    case 'milestone.updated': return `${who} changed ${title}${summary}`;
    case 'milestone.deleted': return `${who} removed ${title}`;
    case 'milestone.accepted': return `${who} accepted ${title}`;
    case 'milestone.declined': return `${who} declined ${title}${reason}`;
    case 'milestone.reordered': return `${who} reordered the milestones`;
    case 'milestone.funded': return `${who} funded ${title}: ${amount} held in escrow`;
    case 'milestone.funding_failed': return `Funding of ${title} failed${reason}`;
    case 'milestone.funding_settled': return `Funding of ${title} settled`;
    case 'milestone.submitted': return `${who} submitted ${title} for review`;
    case 'milestone.approval_pending': return `${who} approved ${title}; another member of the company must approve it too`;
    case 'payment.approval_pending': return `${who} paid ${amount}; another member of the company must pay it too`;
    case 'review.posted': return `${who} left a review`;
    case 'milestone.approved': return `${who} approved ${title}${amount ? ` (${amount})` : ''}`;
    case 'milestone.auto_approval_due': return `${title} will be approved automatically unless reviewed`;
    case 'milestone.auto_approved': return `${title} was approved automatically`;
    case 'milestone.rejected': return `${who} sent back ${title}${reason}`;
    case 'milestone.released': {
      const left = typeof d.left === 'number' ? formatMoney(d.left, cur) : '';
      const released = typeof d.released === 'number' ? formatMoney(d.released, cur) : amount;
      const rest = d.rest === 'next' && typeof d.nextTitle === 'string' ? `; the ${left} left funds “${d.nextTitle}”` : d.rest === 'refund' && left ? `; the ${left} left was refunded` : '';
      return `${who} released ${released} for ${title}${rest}`;
    }
    case 'milestone.refunded': return `${amount} of escrow for ${title} was refunded`;
    case 'payment.created': return `Draft payment of ${amount} created`;
    case 'payment.paid': return `Payment of ${amount} paid`;
    case 'change_request.opened': return `${who} proposed milestone changes${summary}`;
    case 'change_request.modified': return `${who} answered with a counter-proposal${summary}`;
    case 'change_request.accepted': return `${who} accepted the milestone changes`;
    case 'change_request.declined': return `${who} declined the milestone changes${reason}`;
    case 'change_request.withdrawn': return `${who} withdrew the milestone changes`;
    case 'change_request.failed': return `The milestone changes could not be applied${reason}`;
    case 'dispute.opened': return `${who} opened a dispute on ${title}${reason}`;
    case 'dispute.responded': return `${who} answered the dispute on ${title}`;
    case 'dispute.resolved': return `The dispute on ${title} was resolved`;
    case 'refund_request.opened': return `${who} asked for a refund before closing${typeof d.refund === 'number' ? ` (${formatMoney(d.refund, cur)})` : ''}`;
    case 'refund_request.countered': return `${who} proposed another refund${typeof d.refund === 'number' ? ` (${formatMoney(d.refund, cur)})` : ''}`;
    case 'refund_request.accepted': return `${who} agreed to the refund; the contract is closed`;
    case 'refund_request.declined': return `${who} declined the refund${reason}; the escrow is disputed`;
    case 'refund_request.withdrawn': return `${who} withdrew the refund request`;
    case 'refund_request.escalated': return 'The refund request was not answered in time; the escrow is disputed';
    case 'refund_request.failed': return 'The refund could not be applied: the escrow changed';
    case 'conversation.started': return `${who} started the conversation (see Conversation)`;
    default: return `${eventWords(a.kind).text}${a.actorRole === viewer ? ' (by you)' : ''}`;
  }
}
