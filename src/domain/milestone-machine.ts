import { AppError, forbidden, invalidState } from './errors.ts';
import type { Policy, Role } from './policy.ts';
import { needsAcceptance } from './policy.ts';

export const MILESTONE_STATUSES = [
  'proposed',
  'accepted',
  'declined',
  'funded',
  'in_progress',
  'submitted',
  'approval_pending',
  'approved',
  'paid',
  'disputed',
  'refunded',
  'cancelled',
] as const;
export type MilestoneStatus = (typeof MILESTONE_STATUSES)[number];

/** The web app's two lists (seed 000): what still needs work or review, and what is done. */
export const PENDING_STATUSES: readonly MilestoneStatus[] = ['proposed', 'accepted', 'funded', 'in_progress', 'submitted', 'approval_pending', 'disputed'];
export const APPROVED_STATUSES: readonly MilestoneStatus[] = ['approved', 'paid'];
/** States in which escrow is held and counted against `maxFundedMilestones`. */
export const OPEN_FUNDED_STATUSES: readonly MilestoneStatus[] = ['funded', 'submitted', 'approval_pending', 'disputed'];
const EDITABLE: readonly MilestoneStatus[] = ['proposed', 'accepted', 'in_progress'];

export type ContractStatus = 'proposal' | 'active' | 'closed' | 'withdrawn' | 'declined';

export type MilestoneState = {
  status: MilestoneStatus;
  amount: number;
  fundedAmount: number;
  releasedAmount: number;
  refundedAmount: number;
  proposedBy: Role | null;
  revisionCount: number;
  fundingPending: boolean;
  /** While `approval_pending`: the first member's approval, waiting for a second member (four eyes). */
  approval?: Approval | null;
  /** An open chargeback on the charge that funded it: nothing may leave the escrow meanwhile. */
  escrowFrozen?: boolean;
};

/**
 * A first approval of an organisation's member (four eyes): who gave it, the state the
 * milestone was in (it keeps behaving as that state for everything else), and what was
 * approved — the whole milestone (`release: null`) or a partial release of that amount.
 */
export type Approval = { by: string; from: MilestoneStatus; release: number | null };

export type Actor = { role: Role } | { role: 'admin' } | { role: 'system' };

export type MilestoneContext = {
  contractStatus: ContractStatus;
  currency: string;
  /** Milestones of the same contract, other than this one, holding escrow now. */
  otherOpenFunded: number;
  /**
   * Four eyes: the client organisation's approval threshold in this currency and the member
   * acting. Approving or releasing an amount at or above it needs a second member.
   */
  fourEyes?: { threshold: number; memberId: string };
};

export type MilestoneCommand =
  | { type: 'edit' }
  | { type: 'delete' }
  | { type: 'accept' }
  | { type: 'decline' }
  | { type: 'fund' }
  | { type: 'submit' }
  | { type: 'approve' }
  | { type: 'auto_approve' }
  | { type: 'reject'; reason: string }
  | { type: 'release'; amount: number; rest?: ReleaseRest }
  | { type: 'refund' }
  | { type: 'dispute' }
  | { type: 'resolve'; releaseAmount: number; refundAmount: number }
  | { type: 'funding_settled' }
  | { type: 'funding_failed' };

export type CommandType = MilestoneCommand['type'];

/**
 * What a partial release does with the escrow it leaves: `keep` it held (more may be released
 * later), move it to the `next` unfunded milestone (this one is settled as paid), or `refund` it
 * to the client (settled as paid too).
 */
export const RELEASE_RESTS = ['keep', 'next', 'refund'] as const;
export type ReleaseRest = (typeof RELEASE_RESTS)[number];

/** What must happen to money as a result of a transition; the use case turns these into ledger entries. */
export type MoneyEffect =
  | { type: 'charge'; amount: number }
  | { type: 'release'; amount: number }
  | { type: 'refund'; amount: number }
  | { type: 'reverse_charge'; amount: number }
  | { type: 'draft_payment'; amount: number }
  | { type: 'charge_on_acceptance' }
  /** Escrow leaving this milestone to fund the next one (posted with that milestone's funding). */
  | { type: 'move_to_next'; amount: number };

export type Transition =
  | { ok: true; next: MilestoneState; effects: MoneyEffect[] }
  | { ok: false; error: AppError };

export const escrowHeld = (m: MilestoneState) => m.fundedAmount - m.releasedAmount - m.refundedAmount;

const fail = (error: AppError): Transition => ({ ok: false, error });
const ok = (next: MilestoneState, effects: MoneyEffect[] = []): Transition => ({ ok: true, next, effects });

function requireRole(actor: Actor, ...roles: Actor['role'][]): AppError | null {
  if (roles.includes(actor.role)) return null;
  const who = roles.filter((r) => r === 'client' || r === 'contractor').join(' or ') || 'the platform';
  return forbidden(`only the ${who} may do this`);
}

const wrongState = (m: MilestoneState, why?: string) => invalidState('milestone', m.status, why);

/** Escrow a chargeback froze (the client's bank disputes the card payment that funded it). */
export const escrowFrozen = (m: Pick<MilestoneState, 'status'>) =>
  new AppError('escrow_frozen', 'the client’s bank disputes the card payment that funded this escrow: nothing may leave it until the bank decides', { state: m.status });

/**
 * Whether `role` may change an agreed milestone alone, or must ask the other party (a change
 * request). Proposed milestones are still being negotiated and are edited in place.
 */
export function changeMode(policy: Policy, role: Role, status: MilestoneStatus): 'direct' | 'change_request' {
  if (status === 'proposed') return 'direct';
  return needsAcceptance(policy, role) ? 'change_request' : 'direct';
}

/** Whether a milestone in `status` may be removed at all under `policy`. */
export function isDeletable(policy: Policy, status: MilestoneStatus): boolean {
  if (status === 'proposed' || status === 'accepted') return true;
  if (policy.deletableUntil !== 'funded_unpaid') return false;
  return status === 'in_progress' || status === 'funded' || status === 'submitted';
}

/**
 * The milestone state machine: a pure function of (state, command, actor, policy, context).
 * Role checks come first (403), then state checks (409), then amounts (422).
 *
 * `approval_pending` is the state a first approval leaves behind under four eyes: every other
 * command treats the milestone as the state it was in (`approval.from`) and withdraws the
 * pending approval; the second member confirms with the same command (the same amount for a
 * release), and only then does money move. The first member cannot be the second.
 */
export function transition(m: MilestoneState, cmd: MilestoneCommand, actor: Actor, policy: Policy, ctx: MilestoneContext): Transition {
  const pending = m.status === 'approval_pending' && m.approval ? m.approval : null;
  const under: MilestoneState = pending ? { ...m, status: pending.from, approval: null } : m;
  const t = step(under, cmd, actor, policy, ctx);
  if (t.ok && m.escrowFrozen && t.effects.some((e) => e.type === 'release' || e.type === 'refund' || e.type === 'move_to_next')) return fail(escrowFrozen(m));
  if (!t.ok || (cmd.type !== 'approve' && cmd.type !== 'release')) return t;
  if (pending && (cmd.type === 'approve' ? pending.release !== null : pending.release !== cmd.amount)) {
    const what = pending.release === null ? 'an approval' : `a release of ${pending.release}`;
    return fail(invalidState('milestone', m.status, `${what} waits for a second member: confirm the same, or reject the milestone`));
  }
  // What goes to the contractor (a release's rest going back or on to the next milestone does not).
  const stake = t.effects.reduce((a, e) => a + (e.type === 'release' || e.type === 'draft_payment' ? e.amount : 0), 0);
  if (!ctx.fourEyes || stake < ctx.fourEyes.threshold) return t;
  if (!pending) {
    const approval: Approval = { by: ctx.fourEyes.memberId, from: under.status, release: cmd.type === 'release' ? cmd.amount : null };
    return ok({ ...under, status: 'approval_pending', approval });
  }
  if (pending.by === ctx.fourEyes.memberId) {
    return fail(new AppError('second_approver_required', `${stake} is at or above the organisation's approval threshold of ${ctx.fourEyes.threshold}: another member must approve it`, {
      state: m.status,
      approvedBy: pending.by,
      threshold: ctx.fourEyes.threshold,
    }));
  }
  return t;
}

function step(
  m: MilestoneState,
  cmd: MilestoneCommand,
  actor: Actor,
  policy: Policy,
  ctx: MilestoneContext,
): Transition {
  const escrow = policy.escrow === 'required';
  const held = escrowHeld(m);
  const live = ctx.contractStatus === 'active';
  const contractOpen = ctx.contractStatus === 'proposal' || ctx.contractStatus === 'active';
  const contractNotLive = () => invalidState('contract', ctx.contractStatus, `the contract is ${ctx.contractStatus}, not active`);

  switch (cmd.type) {
    case 'edit': {
      const e = requireRole(actor, 'client', 'contractor');
      if (e) return fail(e);
      if (!contractOpen) return fail(invalidState('contract', ctx.contractStatus));
      if (!EDITABLE.includes(m.status)) return fail(wrongState(m, `a ${m.status} milestone can no longer be edited`));
      // A deposit on its way charges the amount as it was.
      if (m.fundingPending) return fail(new AppError('funding_pending', undefined, { state: m.status }));
      const role = actor.role as Role;
      if (m.status === 'proposed') {
        // Editing the other side's proposal is a counter-proposal: it now waits for them.
        return ok({ ...m, ...(needsAcceptance(policy, role) ? { proposedBy: role } : { status: 'accepted', proposedBy: null }) });
      }
      return ok({ ...m });
    }
    case 'delete': {
      const e = requireRole(actor, 'client', 'contractor');
      if (e) return fail(e);
      if (!contractOpen) return fail(invalidState('contract', ctx.contractStatus));
      if (m.status === 'proposed' && m.proposedBy !== actor.role) {
        return fail(forbidden('decline the other party’s proposed milestone instead of deleting it'));
      }
      if (!isDeletable(policy, m.status)) return fail(wrongState(m, `a ${m.status} milestone cannot be deleted under this policy`));
      if (m.fundingPending) return fail(new AppError('funding_pending', undefined, { state: m.status }));
      const effects: MoneyEffect[] = held > 0 ? [{ type: 'refund', amount: held }] : [];
      return ok({ ...m, status: 'cancelled', refundedAmount: m.refundedAmount + held }, effects);
    }
    case 'accept':
    case 'decline': {
      const e = requireRole(actor, 'client', 'contractor');
      if (e) return fail(e);
      if (!contractOpen) return fail(invalidState('contract', ctx.contractStatus));
      if (m.status !== 'proposed') return fail(wrongState(m));
      if (m.proposedBy === actor.role) return fail(forbidden('the other party must accept or decline this milestone'));
      if (cmd.type === 'decline') return ok({ ...m, status: 'declined', proposedBy: null });
      const chargeNow = escrow && policy.fundingTrigger === 'on_acceptance' && live && actor.role === 'contractor';
      return ok({ ...m, status: 'accepted', proposedBy: null }, chargeNow ? [{ type: 'charge_on_acceptance' }] : []);
    }
    case 'fund': {
      const e = requireRole(actor, 'client');
      if (e) return fail(e);
      if (!live) return fail(contractNotLive());
      if (!escrow) return fail(wrongState(m, 'this contract’s policy does not use escrow'));
      if (m.status !== 'accepted') return fail(wrongState(m));
      if (policy.maxFundedMilestones !== null && ctx.otherOpenFunded >= policy.maxFundedMilestones) {
        return fail(
          new AppError('funding_limit_reached', `at most ${policy.maxFundedMilestones} funded milestone(s) at a time`, {
            state: m.status,
            maxFundedMilestones: policy.maxFundedMilestones,
          }),
        );
      }
      const min = policy.minFundingAmount[ctx.currency] ?? 0;
      if (m.amount < min) {
        return fail(new AppError('amount_below_minimum', `the smallest escrow deposit is ${min}`, { minimum: min, currency: ctx.currency }));
      }
      return ok({ ...m, status: 'funded', fundedAmount: m.fundedAmount + m.amount }, [{ type: 'charge', amount: m.amount }]);
    }
    case 'submit': {
      const e = requireRole(actor, 'contractor');
      if (e) return fail(e);
      if (!live) return fail(contractNotLive());
      const from: MilestoneStatus[] = escrow ? ['funded'] : ['accepted', 'in_progress'];
      if (!from.includes(m.status)) return fail(wrongState(m));
      return ok({ ...m, status: 'submitted' });
    }
    case 'approve':
    case 'auto_approve': {
      const e = cmd.type === 'approve' ? requireRole(actor, 'client') : requireRole(actor, 'system');
      if (e) return fail(e);
      if (!live) return fail(contractNotLive());
      const from: MilestoneStatus[] =
        cmd.type === 'auto_approve' || policy.submissionRequired
          ? ['submitted']
          : escrow
            ? ['funded', 'submitted']
            : ['accepted', 'in_progress', 'submitted'];
      if (!from.includes(m.status)) {
        return fail(wrongState(m, m.status === 'funded' || m.status === 'in_progress' ? 'the contractor has not submitted this milestone yet' : undefined));
      }
      if (escrow) {
        if (m.fundingPending) return fail(new AppError('funding_pending', undefined, { state: m.status }));
        return ok({ ...m, status: 'paid', releasedAmount: m.releasedAmount + held }, held > 0 ? [{ type: 'release', amount: held }] : []);
      }
      return ok({ ...m, status: 'approved' }, [{ type: 'draft_payment', amount: m.amount }]);
    }
    case 'reject': {
      const e = requireRole(actor, 'client');
      if (e) return fail(e);
      if (!live) return fail(contractNotLive());
      if (m.status !== 'submitted') return fail(wrongState(m));
      if (policy.maxRevisionRounds !== null && m.revisionCount >= policy.maxRevisionRounds) {
        return fail(
          new AppError('revision_limit_reached', `this milestone was already sent back ${m.revisionCount} time(s); approve it or open a dispute`, {
            state: m.status,
            maxRevisionRounds: policy.maxRevisionRounds,
          }),
        );
      }
      return ok({ ...m, status: escrow ? 'funded' : 'in_progress', revisionCount: m.revisionCount + 1 });
    }
    case 'release': {
      const e = requireRole(actor, 'client');
      if (e) return fail(e);
      if (!live) return fail(contractNotLive());
      if (!escrow) return fail(wrongState(m, 'this contract’s policy does not use escrow'));
      if (m.status !== 'funded' && m.status !== 'submitted') return fail(wrongState(m));
      if (m.fundingPending) return fail(new AppError('funding_pending', undefined, { state: m.status }));
      if (!Number.isSafeInteger(cmd.amount) || cmd.amount <= 0) {
        return fail(new AppError('validation_failed', 'amount must be a positive integer', { inEscrow: held }, [{ field: 'amount', message: 'must be a positive integer' }]));
      }
      if (cmd.amount > held) {
        return fail(new AppError('validation_failed', `amount exceeds the ${held} held in escrow`, { inEscrow: held }, [{ field: 'amount', message: `must be at most ${held}` }]));
      }
      const rest = held - cmd.amount;
      const released = { ...m, releasedAmount: m.releasedAmount + cmd.amount };
      if (rest === 0 || (cmd.rest ?? 'keep') === 'keep') return ok({ ...released, status: rest === 0 ? 'paid' : m.status }, [{ type: 'release', amount: cmd.amount }]);
      // Settled now: the rest leaves this milestone's escrow back to the client's side (refunded,
      // or moved to fund the next milestone), so `refundedAmount` counts it either way.
      return ok({ ...released, status: 'paid', refundedAmount: m.refundedAmount + rest }, [
        { type: 'release', amount: cmd.amount },
        cmd.rest === 'next' ? { type: 'move_to_next', amount: rest } : { type: 'refund', amount: rest },
      ]);
    }
    case 'refund': {
      const e = requireRole(actor, 'contractor', 'admin');
      if (e) return fail(e);
      if (m.status !== 'funded' && m.status !== 'submitted') return fail(wrongState(m));
      if (m.fundingPending) return fail(new AppError('funding_pending', undefined, { state: m.status }));
      return ok({ ...m, status: 'refunded', refundedAmount: m.refundedAmount + held }, held > 0 ? [{ type: 'refund', amount: held }] : []);
    }
    case 'dispute': {
      const e = requireRole(actor, 'client', 'contractor');
      if (e) return fail(e);
      if (!live) return fail(contractNotLive());
      if (!escrow) return fail(wrongState(m, 'disputes are about escrow; this contract’s policy does not use it'));
      if (m.status !== 'funded' && m.status !== 'submitted') return fail(wrongState(m));
      if (m.fundingPending) return fail(new AppError('funding_pending', undefined, { state: m.status }));
      return ok({ ...m, status: 'disputed' });
    }
    case 'resolve': {
      const e = requireRole(actor, 'admin', 'system');
      if (e) return fail(e);
      if (m.status !== 'disputed') return fail(wrongState(m));
      const bad = (x: number) => !Number.isSafeInteger(x) || x < 0;
      if (bad(cmd.releaseAmount) || bad(cmd.refundAmount)) {
        return fail(
          new AppError('validation_failed', 'releaseAmount and refundAmount must be non-negative integers', { inEscrow: held }, [
            { field: bad(cmd.releaseAmount) ? 'releaseAmount' : 'refundAmount', message: 'must be a non-negative integer' },
          ]),
        );
      }
      if (cmd.releaseAmount + cmd.refundAmount !== held) {
        return fail(
          new AppError('validation_failed', `releaseAmount + refundAmount must equal the ${held} held in escrow`, { inEscrow: held }, [
            { field: 'releaseAmount', message: `releaseAmount + refundAmount must be ${held}` },
          ]),
        );
      }
      const effects: MoneyEffect[] = [];
      if (cmd.releaseAmount > 0) effects.push({ type: 'release', amount: cmd.releaseAmount });
      if (cmd.refundAmount > 0) effects.push({ type: 'refund', amount: cmd.refundAmount });
      return ok(
        {
          ...m,
          status: cmd.releaseAmount > 0 ? 'paid' : 'refunded',
          releasedAmount: m.releasedAmount + cmd.releaseAmount,
          refundedAmount: m.refundedAmount + cmd.refundAmount,
        },
        effects,
      );
    }
    case 'funding_settled': {
      const e = requireRole(actor, 'system');
      if (e) return fail(e);
      if (!m.fundingPending) return fail(wrongState(m, 'no deposit is pending'));
      return ok({ ...m, fundingPending: false });
    }
    case 'funding_failed': {
      const e = requireRole(actor, 'system');
      if (e) return fail(e);
      if (!m.fundingPending) return fail(wrongState(m, 'no deposit is pending'));
      // The deposit never arrived: the hold is reversed and the milestone is agreed-but-unfunded again.
      return ok(
        { ...m, status: 'accepted', fundingPending: false, refundedAmount: m.refundedAmount + held },
        held > 0 ? [{ type: 'reverse_charge', amount: held }] : [],
      );
    }
  }
}

/** Initial state of a milestone added by `role`. */
export function initialStatus(policy: Policy, role: Role): { status: MilestoneStatus; proposedBy: Role | null } {
  return needsAcceptance(policy, role) ? { status: 'proposed', proposedBy: role } : { status: 'accepted', proposedBy: null };
}
