import fc from 'fast-check';
import { planChangeSet, type ChangeOperation } from '../../src/domain/change-set.ts';
import { contractTransition, planCloseSettlement } from '../../src/domain/contract-machine.ts';
import { AppError } from '../../src/domain/errors.ts';
import {
  changeMode,
  escrowHeld,
  initialStatus,
  isDeletable,
  OPEN_FUNDED_STATUSES,
  transition,
  type Actor,
  type ContractStatus,
  type MilestoneCommand,
  type MilestoneState,
  type MilestoneStatus,
  type MoneyEffect,
} from '../../src/domain/milestone-machine.ts';
import { allocate, cumulativeShare, feeOf } from '../../src/domain/money.ts';
import { mayCreateMilestones, PRESET_NAMES, resolvePolicy, type Policy, type PolicyOverrides, type Role } from '../../src/domain/policy.ts';
import { Accounts, describeAccount } from '../../src/ledger/accounts.ts';
import { directPaymentPostings, fundingPostings, refundPostings, releasePostings, type Parties } from '../../src/ledger/flows.ts';
import { netByAccount, validatePostings, type Posting } from '../../src/ledger/postings.ts';

/*
 * Shared by model.test.ts (pure, in memory) and model-db.test.ts (over HTTP).
 *
 * Model-based test of the money-and-milestone core. Random command sequences by random actors
 * run against
 *   IMPL — the real domain (transition, change sets, contract machine, close settlement) with
 *          its money effects turned into ledger postings the way src/usecases/*.ts do, applied
 *          to an in-memory balance map through validatePostings/netByAccount; and
 *   REF  — a plain reference model written from PRODUCT.md, with its own arithmetic.
 * After every step the invariants of PRODUCT.md "Ledger" are checked on IMPL, and IMPL and REF
 * must agree on accept/refuse, every milestone's status and money, and every account balance.
 */

type Who = 'client' | 'contractor' | 'admin' | 'system';
export const P: Parties = { contractId: 'c1', clientId: 'u_client', contractorId: 'u_contractor' };

export type Cmd =
  | { k: 'add'; who: Who; amount: number }
  | { k: 'edit'; who: Who; i: number; amount: number; agree: boolean }
  | { k: 'delete'; who: Who; i: number; agree: boolean }
  | { k: 'accept' | 'decline' | 'submit' | 'approve' | 'auto_approve' | 'reject' | 'refund' | 'dispute' | 'settle' | 'fail' | 'pay'; who: Who; i: number }
  | { k: 'fund'; who: Who; i: number; pending: boolean }
  | { k: 'release'; who: Who; i: number; frac: number; delta: number }
  | { k: 'resolve'; who: Who; i: number; frac: number; delta: number }
  | { k: 'close'; who: Who; mode: 'default' | 'release' | 'refund' | 'both'; frac: number; delta: number }
  | { k: 'activate' | 'withdraw' | 'cdecline'; who: Who };

export type Setup = { policy: Policy; currency: 'USD' | 'JPY'; creator: Role };

// ───────────────────────────── IMPL: real domain code ─────────────────────────────

type IM = MilestoneState & { id: string; position: number; feeCharged: number; feeRefunded: number; draft: 'none' | 'draft' | 'paid' };
export type Outcome = { ok: true } | { ok: false; code: string };

export class Impl {
  status: ContractStatus = 'proposal';
  ms: IM[] = [];
  bal = new Map<string, number>();
  /** Sum of postings to the contractor's balance and contractor fees (overview "paid"). */
  paidPostings = 0;
  entries = 0;
  private seq = 0;
  /** Provider answers for the next charge: settled now or pending. */
  nextChargePending = false;
  constructor(readonly s: Setup) {}

  get policy() {
    return this.s.policy;
  }

  post(postings: Posting[]) {
    const kept = validatePostings(postings); // throws on a zero-only entry, negative or self posting
    const net = netByAccount(kept);
    let sum = 0;
    for (const [addr, d] of net) {
      describeAccount(addr); // throws on an unknown address
      sum += d;
      this.bal.set(addr, (this.bal.get(addr) ?? 0) + d);
    }
    if (sum !== 0) throw new Error(`unbalanced entry ${JSON.stringify(postings)}`);
    for (const p of kept) if (p.destination === Accounts.contractorBalance(P.contractorId) || p.destination === Accounts.contractorFees()) this.paidPostings += p.amount;
    this.entries++;
  }

  /** As src/usecases/money.ts applyMoneyEffects. */
  applyEffects(before: IM, next: MilestoneState, effects: MoneyEffect[]): IM {
    const out: IM = { ...before, ...next };
    let feeCharged = before.feeCharged;
    let feeRefunded = before.feeRefunded;
    let pending = false;
    for (const eff of effects) {
      switch (eff.type) {
        case 'charge': {
          const fee = feeOf(eff.amount, this.policy.platformFee.clientBps);
          this.post(fundingPostings(P, before.id, eff.amount, fee));
          feeCharged += fee;
          if (this.nextChargePending) {
            pending = true;
            out.fundingPending = true;
          }
          break;
        }
        case 'release':
          this.post(releasePostings(P, before.id, eff.amount, feeOf(eff.amount, this.policy.platformFee.contractorBps)));
          break;
        case 'refund':
        case 'reverse_charge': {
          const feeBack = cumulativeShare(feeCharged, next.refundedAmount, next.fundedAmount, feeRefunded);
          this.post(refundPostings(P, before.id, eff.amount, feeBack));
          feeRefunded += feeBack;
          break;
        }
        case 'draft_payment':
          out.draft = 'draft';
          break;
        case 'charge_on_acceptance':
          break;
      }
    }
    if (!pending && effects.some((e) => e.type === 'charge')) out.fundingPending = false;
    out.feeCharged = feeCharged;
    out.feeRefunded = feeRefunded;
    return out;
  }

  run(m: IM, cmd: MilestoneCommand, who: Who): Outcome {
    const otherOpenFunded = this.ms.filter((x) => x.id !== m.id && OPEN_FUNDED_STATUSES.includes(x.status)).length;
    const t = transition(m, cmd, { role: who } as Actor, this.policy, { contractStatus: this.status, currency: this.s.currency, otherOpenFunded });
    if (!t.ok) return { ok: false, code: t.error.code };
    this.replace(this.applyEffects(m, t.next, t.effects));
    return { ok: true };
  }

  replace(m: IM) {
    this.ms = this.ms.map((x) => (x.id === m.id ? m : x));
  }

  /** A change request on `ops`, answered at once by the other party (accepted when `agree`). */
  changeRequest(ops: ChangeOperation[], agree: boolean): Outcome {
    if (!agree) return { ok: true };
    let plan;
    try {
      plan = planChangeSet(
        this.ms.map((x) => ({ id: x.id, status: x.status, position: x.position, title: x.id, amount: x.amount, dueDate: '2030-01-01', description: null })),
        ops,
        (st) => isDeletable(this.policy, st), // as the change-request use cases pass it
      );
    } catch (e) {
      if (e instanceof AppError) return { ok: true }; // the request ends `failed`; nothing changes
      throw e;
    }
    for (const [id, c] of plan.updated) this.ms = this.ms.map((x) => (x.id === id && c.amount !== undefined ? { ...x, amount: c.amount } : x));
    for (const id of plan.removed) this.ms = this.ms.map((x) => (x.id === id ? { ...x, status: 'cancelled' as const } : x));
    for (const a of plan.after) if (a.id) this.ms = this.ms.map((x) => (x.id === a.id ? { ...x, position: a.position } : x));
    return { ok: true };
  }

  apply(c: Cmd): Outcome {
    const party = c.who === 'client' || c.who === 'contractor' ? (c.who as Role) : null;
    const m = 'i' in c ? this.ms[c.i % Math.max(1, this.ms.length)] : undefined;
    if ('i' in c && !m) return { ok: false, code: 'not_found' };
    switch (c.k) {
      case 'add': {
        if (!party) return { ok: false, code: 'forbidden' };
        if (!mayCreateMilestones(this.policy, party)) return { ok: false, code: 'forbidden' };
        if (this.status !== 'proposal' && this.status !== 'active') return { ok: false, code: 'invalid_state' };
        const init = initialStatus(this.policy, party);
        const id = `m${++this.seq}`;
        this.ms = [...this.ms, {
          id,
          position: this.ms.length + 1,
          status: init.status,
          proposedBy: init.proposedBy,
          amount: c.amount,
          fundedAmount: 0,
          releasedAmount: 0,
          refundedAmount: 0,
          revisionCount: 0,
          fundingPending: false,
          feeCharged: 0,
          feeRefunded: 0,
          draft: 'none',
        }];
        return { ok: true };
      }
      case 'edit': {
        const t = transition(m!, { type: 'edit' }, { role: c.who } as Actor, this.policy, { contractStatus: this.status, currency: this.s.currency, otherOpenFunded: 0 });
        if (!t.ok) return { ok: false, code: t.error.code };
        if (changeMode(this.policy, party!, m!.status) === 'change_request') return this.changeRequest([{ op: 'update', milestoneId: m!.id, changes: { amount: c.amount } }], c.agree);
        this.replace({ ...m!, ...t.next, amount: c.amount });
        return { ok: true };
      }
      case 'delete': {
        const t = transition(m!, { type: 'delete' }, { role: c.who } as Actor, this.policy, { contractStatus: this.status, currency: this.s.currency, otherOpenFunded: 0 });
        if (!t.ok) return { ok: false, code: t.error.code };
        if ((m!.status === 'accepted' || m!.status === 'in_progress') && changeMode(this.policy, party!, m!.status) === 'change_request') {
          return this.changeRequest([{ op: 'remove', milestoneId: m!.id }], c.agree);
        }
        return this.run(m!, { type: 'delete' }, c.who);
      }
      case 'accept': {
        const r = this.run(m!, { type: 'accept' }, c.who);
        // As acceptMilestone: under on_acceptance the contractor's acceptance funds at once; if that is refused the acceptance stands.
        const p = this.policy;
        if (r.ok && p.escrow === 'required' && p.fundingTrigger === 'on_acceptance' && this.status === 'active' && c.who === 'contractor') {
          this.nextChargePending = false; // the saved card settles at once here
          this.run(this.ms.find((x) => x.id === m!.id)!, { type: 'fund' }, 'client');
        }
        return r;
      }
      case 'decline':
      case 'submit':
      case 'approve':
      case 'auto_approve':
      case 'refund':
      case 'dispute':
        return this.run(m!, { type: c.k }, c.who);
      case 'reject':
        return this.run(m!, { type: 'reject', reason: 'needs work' }, c.who);
      case 'fund':
        this.nextChargePending = c.pending;
        return this.run(m!, { type: 'fund' }, c.who);
      case 'settle':
        return this.run(m!, { type: 'funding_settled' }, c.who);
      case 'fail':
        return this.run(m!, { type: 'funding_failed' }, c.who);
      case 'release':
        return this.run(m!, { type: 'release', amount: Math.floor(escrowHeld(m!) * c.frac) + c.delta }, c.who);
      case 'resolve': {
        const held = escrowHeld(m!);
        const rel = Math.floor(held * c.frac);
        return this.run(m!, { type: 'resolve', releaseAmount: rel, refundAmount: held - rel + c.delta }, c.who);
      }
      case 'pay': {
        // As payPayments/completePayment: the client pays a draft; the approved milestone becomes paid.
        if (m!.draft !== 'draft') return { ok: false, code: 'not_found' };
        if (c.who !== 'client') return { ok: false, code: 'forbidden' };
        const b = this.policy.platformFee;
        this.post(directPaymentPostings(P, m!.amount, feeOf(m!.amount, b.clientBps), feeOf(m!.amount, b.contractorBps)));
        this.replace({ ...m!, draft: 'paid', status: m!.status === 'approved' ? 'paid' : m!.status });
        return { ok: true };
      }
      case 'activate':
      case 'withdraw':
      case 'cdecline': {
        const t = contractTransition({ status: this.status, createdByRole: this.s.creator }, { type: c.k === 'cdecline' ? 'decline' : c.k }, { role: c.who } as Actor);
        if (!t.ok) return { ok: false, code: t.error.code };
        this.status = t.next;
        return { ok: true };
      }
      case 'close':
        return this.close(c);
    }
  }

  /** As src/usecases/close-contract.ts. */
  close(c: Extract<Cmd, { k: 'close' }>): Outcome {
    const t = contractTransition({ status: this.status, createdByRole: this.s.creator }, { type: 'close' }, { role: c.who } as Actor);
    if (!t.ok) return { ok: false, code: t.error.code };
    const total = this.ms.reduce((a, m) => a + escrowHeld(m), 0);
    const req = closeRequest(c, total);
    if (c.who === 'contractor' && (req.release ?? 0) > 0) return { ok: false, code: 'forbidden' };
    if (this.ms.some((m) => m.status === 'disputed')) return { ok: false, code: 'invalid_state' };
    if (this.ms.some((m) => m.fundingPending)) return { ok: false, code: 'funding_pending' };
    if (c.who === 'client' && this.ms.some((m) => m.status === 'submitted')) return { ok: false, code: 'invalid_state' };
    const held = this.ms.filter((m) => escrowHeld(m) > 0);
    const plan = planCloseSettlement(held.map((m) => ({ id: m.id, held: escrowHeld(m) })), req, allocate);
    if (plan instanceof AppError) return { ok: false, code: plan.code };
    for (const m of [...this.ms]) {
      const share = plan.find((p) => p.id === m.id);
      if (share) {
        const next: MilestoneState = { ...m, status: share.release > 0 ? 'paid' : 'refunded', releasedAmount: m.releasedAmount + share.release, refundedAmount: m.refundedAmount + share.refund };
        const effects: MoneyEffect[] = [];
        if (share.release > 0) effects.push({ type: 'release', amount: share.release });
        if (share.refund > 0) effects.push({ type: 'refund', amount: share.refund });
        this.replace(this.applyEffects(m, next, effects));
      } else if (['proposed', 'accepted', 'in_progress', 'submitted'].includes(m.status)) {
        this.replace({ ...m, status: 'cancelled', proposedBy: null });
      }
    }
    this.status = t.next;
    return { ok: true };
  }

  /** As the overview columns (OVERVIEW_COLUMNS) in src/db/repos/contracts.ts. */
  overview() {
    const inEscrow = [...this.bal].filter(([a]) => describeAccount(a).kind === 'escrow').reduce((s, [, b]) => s + b, 0);
    let total = 0;
    for (const m of this.ms) {
      if (['accepted', 'funded', 'in_progress', 'submitted', 'approved', 'disputed'].includes(m.status)) total += m.amount;
      else if (m.status === 'paid' && this.policy.escrow === 'none') total += m.amount;
      else if (['paid', 'refunded', 'cancelled'].includes(m.status)) total += m.releasedAmount;
    }
    return { total, inEscrow, paid: this.paidPostings, remaining: total - inEscrow - this.paidPostings };
  }

  /** Cheap: every change replaces the milestone list (never edits it in place) or posts an entry. */
  snapshot() {
    return { status: this.status, ms: this.ms, copies: this.ms.map((m) => ({ ...m })), entries: this.entries, paid: this.paidPostings };
  }
  unchangedSince(b: ReturnType<Impl['snapshot']>): boolean {
    if (b.status !== this.status || b.ms !== this.ms || b.entries !== this.entries || b.paid !== this.paidPostings) return false;
    return this.ms.every((m, i) => (Object.keys(m) as (keyof IM)[]).every((k) => m[k] === b.copies[i]![k]));
  }
}

function closeRequest(c: Extract<Cmd, { k: 'close' }>, total: number): { release?: number; refund?: number } {
  const rel = Math.floor(total * c.frac) + c.delta;
  if (c.mode === 'default') return {};
  if (c.mode === 'release') return { release: rel };
  if (c.mode === 'refund') return { refund: rel };
  return { release: rel, refund: total - Math.floor(total * c.frac) };
}

// ───────────────────────────── REF: plain reference model ─────────────────────────────

type RM = {
  id: string;
  status: MilestoneStatus;
  by: Role | null;
  amount: number;
  funded: number;
  released: number;
  refunded: number;
  pending: boolean;
  rejections: number;
  feeIn: number;
  feeBack: number;
  draft: 'none' | 'draft' | 'paid';
};

/** Written from PRODUCT.md sections 2 and 3 with its own arithmetic; shares no code with the product. */
class Ref {
  status: ContractStatus = 'proposal';
  ms: RM[] = [];
  // accounts, by name
  world = 0;
  escrow = new Map<string, number>();
  contractor = 0;
  feesClient = 0;
  feesContractor = 0;
  private n = 0;
  constructor(readonly s: Setup) {}

  get p() {
    return this.s.policy;
  }
  fee(amount: number, bps: number) {
    return Math.floor((amount * bps) / 10_000); // amounts here stay far below 2^53 / 10_000
  }
  held(m: RM) {
    return m.funded - m.released - m.refunded;
  }
  live() {
    return this.status === 'active';
  }
  negotiable() {
    return this.status === 'proposal' || this.status === 'active';
  }
  mustAsk(r: Role) {
    return this.p.changesNeedAcceptance[r];
  }

  // money movements
  charge(m: RM, amount: number) {
    const f = this.fee(amount, this.p.platformFee.clientBps);
    this.world -= amount + f;
    this.escrow.set(m.id, (this.escrow.get(m.id) ?? 0) + amount);
    this.feesClient += f;
    m.funded += amount;
    m.feeIn += f;
  }
  pay(m: RM, amount: number) {
    const f = this.fee(amount, this.p.platformFee.contractorBps);
    this.escrow.set(m.id, this.escrow.get(m.id)! - amount);
    this.contractor += amount - f;
    this.feesContractor += f;
    m.released += amount;
  }
  giveBack(m: RM, amount: number) {
    m.refunded += amount;
    // the client fee comes back in the same proportion as the money, never drifting
    const dueBack = m.refunded >= m.funded ? m.feeIn : Math.floor((m.feeIn * m.refunded) / m.funded);
    const f = Math.max(0, dueBack - m.feeBack);
    m.feeBack += f;
    this.escrow.set(m.id, this.escrow.get(m.id)! - amount);
    this.feesClient -= f;
    this.world += amount + f;
  }

  apply(c: Cmd): boolean {
    const party: Role | null = c.who === 'client' || c.who === 'contractor' ? c.who : null;
    const m = 'i' in c ? this.ms[c.i % Math.max(1, this.ms.length)] : undefined;
    if ('i' in c && !m) return false;
    const held = m ? this.held(m) : 0;
    const escrow = this.p.escrow === 'required';
    const fundedLike = (s: MilestoneStatus) => s === 'funded' || s === 'submitted';
    switch (c.k) {
      case 'add': {
        if (!party || !this.negotiable()) return false;
        if (this.p.milestoneCreators !== 'both' && this.p.milestoneCreators !== party) return false;
        const ask = this.mustAsk(party);
        this.ms.push({ id: `m${++this.n}`, status: ask ? 'proposed' : 'accepted', by: ask ? party : null, amount: c.amount, funded: 0, released: 0, refunded: 0, pending: false, rejections: 0, feeIn: 0, feeBack: 0, draft: 'none' });
        return true;
      }
      case 'edit': {
        if (!party || !this.negotiable()) return false;
        if (m!.status === 'proposed') {
          // still negotiating: edited in place; the other side must look at it again (or it is agreed, if this side may change alone)
          m!.amount = c.amount;
          if (this.mustAsk(party)) m!.by = party;
          else {
            m!.status = 'accepted';
            m!.by = null;
          }
          return true;
        }
        if (m!.status !== 'accepted' && m!.status !== 'in_progress') return false;
        if (!this.mustAsk(party) || c.agree) m!.amount = c.amount; // directly, or the other party accepted the change request
        return true;
      }
      case 'delete': {
        if (!party || !this.negotiable()) return false;
        if (m!.status === 'proposed') {
          if (m!.by !== party) return false; // the other side declines instead
          m!.status = 'cancelled';
          return true;
        }
        const untilPaid = this.p.deletableUntil === 'funded_unpaid';
        const ok = m!.status === 'accepted' || (untilPaid && (m!.status === 'in_progress' || fundedLike(m!.status)));
        if (!ok || m!.pending) return false;
        if ((m!.status === 'accepted' || m!.status === 'in_progress') && this.mustAsk(party)) {
          if (c.agree) m!.status = 'cancelled';
          return true;
        }
        if (held > 0) this.giveBack(m!, held);
        m!.status = 'cancelled';
        return true;
      }
      case 'accept':
      case 'decline': {
        if (!party || !this.negotiable() || m!.status !== 'proposed' || m!.by === party) return false;
        m!.by = null;
        if (c.k === 'decline') {
          m!.status = 'declined';
          return true;
        }
        m!.status = 'accepted';
        if (escrow && this.p.fundingTrigger === 'on_acceptance' && this.live() && party === 'contractor' && this.canFund(m!)) {
          this.charge(m!, m!.amount);
          m!.status = 'funded';
          m!.pending = false; // the saved card settles at once here
        }
        return true;
      }
      case 'fund': {
        if (c.who !== 'client' || !this.live() || !escrow || m!.status !== 'accepted' || !this.canFund(m!)) return false;
        this.charge(m!, m!.amount);
        m!.status = 'funded';
        m!.pending = c.pending;
        return true;
      }
      case 'settle':
      case 'fail': {
        if (c.who !== 'system' || !m!.pending) return false;
        m!.pending = false;
        if (c.k === 'fail') {
          if (held > 0) this.giveBack(m!, held);
          m!.status = 'accepted';
        }
        return true;
      }
      case 'submit': {
        if (c.who !== 'contractor' || !this.live()) return false;
        const from = escrow ? ['funded'] : ['accepted', 'in_progress'];
        if (!from.includes(m!.status)) return false;
        m!.status = 'submitted';
        return true;
      }
      case 'approve':
      case 'auto_approve': {
        if (c.who !== (c.k === 'approve' ? 'client' : 'system') || !this.live()) return false;
        let ok = m!.status === 'submitted';
        if (c.k === 'approve' && !this.p.submissionRequired) ok ||= escrow ? m!.status === 'funded' : m!.status === 'accepted' || m!.status === 'in_progress';
        if (!ok) return false;
        if (!escrow) {
          m!.status = 'approved';
          m!.draft = 'draft';
          return true;
        }
        if (m!.pending) return false;
        if (held > 0) this.pay(m!, held);
        m!.status = 'paid';
        return true;
      }
      case 'reject': {
        if (c.who !== 'client' || !this.live() || m!.status !== 'submitted') return false;
        if (this.p.maxRevisionRounds !== null && m!.rejections >= this.p.maxRevisionRounds) return false;
        m!.rejections++;
        m!.status = escrow ? 'funded' : 'in_progress';
        return true;
      }
      case 'release': {
        const amount = Math.floor(held * c.frac) + c.delta;
        if (c.who !== 'client' || !this.live() || !escrow || !fundedLike(m!.status) || m!.pending) return false;
        if (amount < 1 || amount > held) return false;
        this.pay(m!, amount);
        if (amount === held) m!.status = 'paid';
        return true;
      }
      case 'refund': {
        if ((c.who !== 'contractor' && c.who !== 'admin') || !fundedLike(m!.status) || m!.pending) return false;
        if (held > 0) this.giveBack(m!, held);
        m!.status = 'refunded';
        return true;
      }
      case 'dispute': {
        if (!party || !this.live() || !escrow || !fundedLike(m!.status) || m!.pending) return false;
        m!.status = 'disputed';
        return true;
      }
      case 'resolve': {
        const rel = Math.floor(held * c.frac);
        const ref = held - rel + c.delta;
        if ((c.who !== 'admin' && c.who !== 'system') || m!.status !== 'disputed') return false;
        if (rel < 0 || ref < 0 || rel + ref !== held) return false;
        if (rel > 0) this.pay(m!, rel);
        if (ref > 0) this.giveBack(m!, ref);
        m!.status = rel > 0 ? 'paid' : 'refunded';
        return true;
      }
      case 'pay': {
        if (m!.draft !== 'draft' || c.who !== 'client') return false;
        const fc = this.fee(m!.amount, this.p.platformFee.clientBps);
        const fk = this.fee(m!.amount, this.p.platformFee.contractorBps);
        this.world -= m!.amount + fc;
        this.feesClient += fc;
        this.contractor += m!.amount - fk;
        this.feesContractor += fk;
        m!.draft = 'paid';
        if (m!.status === 'approved') m!.status = 'paid';
        return true;
      }
      case 'activate':
        if (c.who !== 'client' || this.status !== 'proposal') return false;
        this.status = 'active';
        return true;
      case 'withdraw':
        if (c.who !== this.s.creator || this.status !== 'proposal') return false;
        this.status = 'withdrawn';
        return true;
      case 'cdecline':
        if (!party || party === this.s.creator || this.status !== 'proposal') return false;
        this.status = 'declined';
        return true;
      case 'close':
        return this.close(c);
    }
  }

  canFund(m: RM) {
    const others = this.ms.filter((x) => x !== m && (x.status === 'funded' || x.status === 'submitted' || x.status === 'disputed')).length;
    if (this.p.maxFundedMilestones !== null && others >= this.p.maxFundedMilestones) return false;
    return m.amount >= (this.p.minFundingAmount[this.s.currency] ?? 0);
  }

  close(c: Extract<Cmd, { k: 'close' }>): boolean {
    if (c.who === 'system' || this.status !== 'active') return false;
    const total = this.ms.reduce((a, m) => a + this.held(m), 0);
    const rel0 = Math.floor(total * c.frac) + c.delta;
    let release = 0;
    if (c.mode === 'release') release = rel0;
    if (c.mode === 'refund') release = total - rel0;
    if (c.mode === 'both') release = rel0;
    const refund = c.mode === 'both' ? total - Math.floor(total * c.frac) : total - release;
    if (c.who === 'contractor' && (c.mode === 'release' || c.mode === 'both') && rel0 > 0) return false;
    if (this.ms.some((m) => m.status === 'disputed' || m.pending)) return false;
    if (c.who === 'client' && this.ms.some((m) => m.status === 'submitted')) return false;
    if (release < 0 || refund < 0 || release + refund !== total) return false;
    // release spread over the funded milestones in proportion to what each holds; leftover units to the largest remainders, earlier first
    const funded = this.ms.filter((m) => this.held(m) > 0);
    const shares = funded.map((m) => Math.floor((release * this.held(m)) / total));
    let left = release - shares.reduce((a, b) => a + b, 0);
    const order = funded.map((m, i) => ({ i, r: (release * this.held(m)) % total })).sort((a, b) => b.r - a.r || a.i - b.i);
    for (const { i } of order) {
      if (left === 0) break;
      shares[i]!++;
      left--;
    }
    funded.forEach((m, i) => {
      const h = this.held(m);
      if (shares[i]! > 0) this.pay(m, shares[i]!);
      if (h - shares[i]! > 0) this.giveBack(m, h - shares[i]!);
      m.status = shares[i]! > 0 ? 'paid' : 'refunded';
    });
    for (const m of this.ms) if (!funded.includes(m) && ['proposed', 'accepted', 'in_progress', 'submitted'].includes(m.status)) m.status = 'cancelled';
    this.status = 'closed';
    return true;
  }
}

// ───────────────────────────── generators ─────────────────────────────

const overridesArb: fc.Arbitrary<PolicyOverrides> = fc.record(
  {
    milestoneCreators: fc.constantFrom('client' as const, 'contractor' as const, 'both' as const),
    changesNeedAcceptance: fc.record({ client: fc.boolean(), contractor: fc.boolean() }, { requiredKeys: [] }),
    escrow: fc.constantFrom('required' as const, 'none' as const),
    fundingTrigger: fc.constantFrom('client_funds' as const, 'on_acceptance' as const),
    maxFundedMilestones: fc.option(fc.integer({ min: 1, max: 3 })),
    minFundingAmount: fc.record({ USD: fc.integer({ min: 0, max: 1000 }), JPY: fc.integer({ min: 0, max: 1000 }) }, { requiredKeys: [] }),
    submissionRequired: fc.boolean(),
    deletableUntil: fc.constantFrom('accepted' as const, 'funded_unpaid' as const),
    platformFee: fc.record({ clientBps: fc.integer({ min: 0, max: 5000 }), contractorBps: fc.integer({ min: 0, max: 5000 }) }, { requiredKeys: [] }),
    maxRevisionRounds: fc.option(fc.integer({ min: 0, max: 3 })),
  },
  { requiredKeys: [] },
);

export const setupArb: fc.Arbitrary<Setup> = fc.record({
  policy: fc
    .tuple(fc.constantFrom(...PRESET_NAMES), fc.option(overridesArb, { freq: 2 }))
    .map(([preset, o]) => {
      const overrides = { ...o };
      // on_acceptance needs escrow: keep the combination valid
      if (overrides.fundingTrigger === 'on_acceptance' && overrides.escrow === 'none') delete overrides.fundingTrigger;
      try {
        return resolvePolicy({ preset, overrides });
      } catch {
        return resolvePolicy({ preset });
      }
    }),
  currency: fc.constantFrom('USD' as const, 'JPY' as const),
  creator: fc.constantFrom<Role>('client', 'contractor'),
});

const anyone = fc.constantFrom<Who>('client', 'contractor', 'admin', 'system');
const by = (...natural: Who[]) => fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...natural) }, { weight: 1, arbitrary: anyone });
const idx = fc.nat({ max: 15 });
const amountArb = fc.oneof(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 100, max: 900 }), fc.integer({ min: 1, max: 10 }));
const frac = fc.oneof(fc.constantFrom(0, 0.5, 1), fc.double({ min: 0, max: 1, noNaN: true }));
const delta = fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 2 }) });

export const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant('add' as const), who: by('client', 'contractor'), amount: amountArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('edit' as const), who: by('client', 'contractor'), i: idx, amount: amountArb, agree: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('delete' as const), who: by('client', 'contractor'), i: idx, agree: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constantFrom('accept' as const, 'decline' as const), who: by('client', 'contractor'), i: idx }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('fund' as const), who: by('client'), i: idx, pending: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constantFrom('settle' as const, 'fail' as const), who: by('system'), i: idx }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('submit' as const), who: by('contractor'), i: idx }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constantFrom('approve' as const, 'reject' as const), who: by('client'), i: idx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('auto_approve' as const), who: by('system'), i: idx }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('release' as const), who: by('client'), i: idx, frac, delta }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('refund' as const), who: by('contractor', 'admin'), i: idx }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('dispute' as const), who: by('client', 'contractor'), i: idx }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('resolve' as const), who: by('admin', 'system'), i: idx, frac, delta }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('pay' as const), who: by('client'), i: idx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('close' as const), who: by('client', 'contractor', 'admin'), mode: fc.constantFrom('default' as const, 'release' as const, 'refund' as const, 'both' as const), frac, delta }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constantFrom('withdraw' as const, 'cdecline' as const), who: anyone }) },
);

/**
 * A sequence for a setup: a few milestones added by a party the policy lets add them, most
 * often the contract activated, then random commands by random actors.
 */
export const modelArb: fc.Arbitrary<[Setup, Cmd[]]> = setupArb.chain((setup) => {
  const creators: Who[] = setup.policy.milestoneCreators === 'both' ? ['client', 'contractor'] : [setup.policy.milestoneCreators];
  const seedAdd = fc.record({ k: fc.constant('add' as const), who: fc.constantFrom(...creators), amount: amountArb });
  const seedAccept = fc.record({ k: fc.constant('accept' as const), who: fc.constantFrom<Who>('client', 'contractor'), i: idx });
  return fc
    .tuple(fc.array(fc.oneof(seedAdd, seedAdd, seedAccept), { minLength: 1, maxLength: 6 }), fc.nat({ max: 9 }), fc.array(cmdArb, { minLength: 5, maxLength: 30, size: 'max' }))
    .map(([seed, activate, cmds]): [Setup, Cmd[]] => [setup, [...seed, ...(activate > 0 ? [{ k: 'activate', who: 'client' } as Cmd] : []), ...cmds]]);
});

// ───────────────────────────── the property ─────────────────────────────

const NON_NEGATIVE = new Set(['escrow', 'client_funding', 'contractor_balance', 'platform_fees']);

export function checkStep(impl: Impl, ref: Ref, step: string) {
  // 1. + 2. every entry balanced (checked in post); all balances sum to zero (one currency per contract)
  let sum = 0;
  for (const [addr, b] of impl.bal) {
    sum += b;
    // 4. nothing but the provider's world goes negative
    if (NON_NEGATIVE.has(describeAccount(addr).kind) && b < 0) throw new Error(`${step}: ${addr} is negative (${b})`);
  }
  if (sum !== 0) throw new Error(`${step}: balances sum to ${sum}`);
  // the client's funding account is a pass-through: always back to zero after an entry
  if ((impl.bal.get(Accounts.clientFunding(P.clientId)) ?? 0) !== 0) throw new Error(`${step}: client funding account not zero`);
  for (const m of impl.ms) {
    // 6. an escrow hold resolves at most once, and the ledger holds exactly what the milestone says
    if (m.releasedAmount + m.refundedAmount > m.fundedAmount) throw new Error(`${step}: ${m.id} released + refunded > funded`);
    const esc = impl.bal.get(Accounts.escrow(P.contractId, m.id)) ?? 0;
    if (esc !== escrowHeld(m)) throw new Error(`${step}: ${m.id} escrow balance ${esc} ≠ held ${escrowHeld(m)}`);
    if (m.feeRefunded > m.feeCharged) throw new Error(`${step}: ${m.id} refunded more client fee than charged`);
  }
  // overview (read from the ledger) equals what the milestones say
  const o = impl.overview();
  const escrow = impl.policy.escrow === 'required';
  let inEscrow = 0;
  let paid = 0;
  let remaining = 0;
  for (const m of impl.ms) {
    inEscrow += escrowHeld(m);
    paid += escrow ? m.releasedAmount : m.draft === 'paid' ? m.amount : 0;
    if (['accepted', 'in_progress', 'approved'].includes(m.status) || (m.status === 'submitted' && !escrow)) remaining += m.amount;
    if (['funded', 'submitted', 'disputed'].includes(m.status) && escrow && m.amount !== m.fundedAmount - m.refundedAmount) {
      throw new Error(`${step}: ${m.id} escrow does not cover its amount`);
    }
  }
  if (o.inEscrow !== inEscrow || o.paid !== paid || o.remaining !== remaining || o.total !== inEscrow + paid + remaining) {
    throw new Error(`${step}: overview ${JSON.stringify(o)} ≠ milestones ${JSON.stringify({ inEscrow, paid, remaining })}`);
  }
  // IMPL and REF agree on every milestone and every balance
  if (impl.status !== ref.status) throw new Error(`${step}: contract ${impl.status} vs ref ${ref.status}`);
  if (impl.ms.length !== ref.ms.length) throw new Error(`${step}: ${impl.ms.length} milestones vs ref ${ref.ms.length}`);
  impl.ms.forEach((m, i) => {
    const r = ref.ms[i]!;
    const a = [m.status, m.amount, m.fundedAmount, m.releasedAmount, m.refundedAmount, m.fundingPending, m.revisionCount, m.draft];
    const b = [r.status, r.amount, r.funded, r.released, r.refunded, r.pending, r.rejections, r.draft];
    if (m.status === 'proposed' && m.proposedBy !== r.by) throw new Error(`${step}: ${m.id} proposedBy ${m.proposedBy} vs ref ${r.by}`);
    if (a.some((x, k) => x !== b[k])) throw new Error(`${step}: ${m.id} impl ${JSON.stringify(a)} vs ref ${JSON.stringify(b)}`);
  });
  const want: [string, number][] = [
    [Accounts.world(), ref.world],
    [Accounts.contractorBalance(P.contractorId), ref.contractor],
    [Accounts.clientFees(), ref.feesClient],
    [Accounts.contractorFees(), ref.feesContractor],
    ...[...ref.escrow].map(([id, b]) => [Accounts.escrow(P.contractId, id), b] as [string, number]),
  ];
  for (const [addr, b] of want) {
    if ((impl.bal.get(addr) ?? 0) !== b) throw new Error(`${step}: ${addr} impl ${impl.bal.get(addr) ?? 0} vs ref ${b}`);
  }
}

/** Statuses a command is usually aimed at. */
const AIM: Partial<Record<Cmd['k'], MilestoneStatus[]>> = {
  edit: ['proposed', 'accepted', 'in_progress'],
  delete: ['proposed', 'accepted', 'in_progress', 'funded'],
  accept: ['proposed'],
  decline: ['proposed'],
  fund: ['accepted'],
  submit: ['funded', 'accepted', 'in_progress'],
  approve: ['submitted', 'funded'],
  reject: ['submitted'],
  auto_approve: ['submitted'],
  release: ['funded', 'submitted'],
  refund: ['funded', 'submitted'],
  dispute: ['funded', 'submitted'],
  resolve: ['disputed'],
  pay: ['approved'],
};

/**
 * Test machinery, not product logic: three times in four a milestone command is aimed at a
 * milestone in a status it usually applies to (so that sequences get somewhere); otherwise at
 * any milestone. Both sides then get the same concrete index.
 */
export function aim(c: Cmd, ms: { status: MilestoneStatus; fundingPending: boolean }[]): Cmd {
  if (!('i' in c) || ms.length === 0) return c;
  const fit = ms.map((m, i) => ({ m, i })).filter(({ m }) => (c.k === 'settle' || c.k === 'fail' ? m.fundingPending : (AIM[c.k] ?? []).includes(m.status)));
  if (c.i % 4 === 3 || fit.length === 0) return { ...c, i: c.i % ms.length };
  return { ...c, i: fit[c.i % fit.length]!.i };
}

export function runSequence(setup: Setup, cmds: Cmd[]) {
  const impl = new Impl(setup);
  const ref = new Ref(setup);
  const stats = { ok: 0, refused: 0 };
  cmds.forEach((raw, n) => {
    const c = aim(raw, impl.ms);
    const step = { toString: () => `step ${n} ${JSON.stringify(c)}` } as unknown as string;
    const before = impl.snapshot();
    const got = impl.apply(c);
    const want = ref.apply(c);
    if (got.ok !== want) throw new Error(`${step}: impl ${got.ok ? 'accepted' : `refused (${got.code})`}, ref ${want ? 'accepted' : 'refused'}`);
    if (!got.ok) {
      stats.refused++;
      if (!impl.unchangedSince(before)) throw new Error(`${step}: refused (${got.code}) but changed something`);
    } else stats.ok++;
    checkStep(impl, ref, step);
  });
  return { impl, ref, stats };
}

