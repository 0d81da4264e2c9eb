import fc from 'fast-check';

/*
 * The reference model of the model-based tests (model.test.ts in process, model-db.test.ts over
 * HTTP): a contract, its milestones, payments and ledger accounts as PRODUCT.md describes them,
 * written plainly with its own arithmetic (BigInt fees, its own largest-remainder split, its own
 * state rules). It imports nothing from src/: a reference that shared the product's fee,
 * allocation, policy or machine code would agree with the product's defects.
 */

export type Role = 'client' | 'contractor';
export type Who = Role | 'admin' | 'system';
export type Status = 'proposed' | 'accepted' | 'declined' | 'funded' | 'in_progress' | 'submitted' | 'approved' | 'paid' | 'disputed' | 'refunded' | 'cancelled';
export type ContractStatus = 'proposal' | 'active' | 'closed' | 'withdrawn' | 'declined';

/** The workflow fields the commands here depend on (PRODUCT.md section 3); the tests set every one. */
export type ModelPolicy = {
  milestoneCreators: Role | 'both';
  changesNeedAcceptance: { client: boolean; contractor: boolean };
  escrow: 'required' | 'none';
  fundingTrigger: 'client_funds' | 'on_acceptance';
  maxFundedMilestones: number | null;
  minFundingAmount: { USD: number; JPY: number };
  submissionRequired: boolean;
  deletableUntil: 'accepted' | 'funded_unpaid';
  maxRevisionRounds: number | null;
};
export type Fees = { clientBps: number; contractorBps: number };
export const PRESETS = ['company_managed', 'sequential_escrow', 'client_creates', 'contractor_creates', 'hourly_requests', 'accept_every_change'] as const;
export type Setup = { preset: (typeof PRESETS)[number]; policy: ModelPolicy; fees: Fees; currency: 'USD' | 'JPY'; creator: Role; initial: number[] };

export type Card = 'ok' | 'declined' | 'later';
export type Cmd =
  | { k: 'activate' | 'withdraw' | 'cdecline'; who: Who }
  | { k: 'add'; who: Who; amount: number }
  | { k: 'accept' | 'decline' | 'submit' | 'approve' | 'reject' | 'refund' | 'dispute' | 'settle'; who: Who; i: number }
  | { k: 'fund'; who: Who; i: number; card: Card }
  | { k: 'pay'; who: Who; i: number; card: 'ok' | 'declined' }
  | { k: 'release' | 'resolve'; who: Who; i: number; frac: number; delta: number }
  | { k: 'close'; who: Who; split: boolean; frac: number };

export type Outcome = { ok: true } | { ok: false; code: string };

/** What both sides are compared on after every step. */
export type Observed = {
  contract: ContractStatus;
  milestones: { status: Status; amount: number; funded: number; released: number; refunded: number; proposedBy: Role | null; pending: boolean; revisions: number }[];
  /** `m<index> <kind> <amount> <fee> <status>`, sorted. */
  payments: string[];
  overview: { total: number; inEscrow: number; paid: number; remaining: number };
  /** Net of this contract's postings per account, zeros left out: world, clientFunding, contractor, feesClient, feesContractor, escrow:<index>. */
  balances: Record<string, number>;
};

type M = {
  status: Status;
  by: Role | null;
  amount: number;
  funded: number;
  released: number;
  refunded: number;
  pending: boolean;
  revisions: number;
  clientFeeIn: number;
  clientFeeBack: number;
  contractorFee: number;
  draft: 'none' | 'draft' | 'paid';
  dispute: 'none' | 'open' | 'resolved';
};
type Payment = { m: number; kind: string; amount: number; fee: number; status: string };

/** floor(amount × bps / 10 000), exactly. */
export const feeOn = (amount: number, bps: number) => Number((BigInt(amount) * BigInt(bps)) / 10_000n);

/** `total` split in proportion to `weights`, leftover units to the largest remainders (earlier first on ties). */
export function largestRemainder(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0) return weights.map(() => 0);
  const exact = weights.map((w) => BigInt(total) * BigInt(w));
  const parts = exact.map((x) => Number(x / BigInt(sum)));
  let left = total - parts.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, r: x % BigInt(sum) })).sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  for (const { i } of order) {
    if (left-- <= 0) break;
    parts[i]!++;
  }
  return parts;
}

const refused = (code: string): Outcome => ({ ok: false, code });
const OK: Outcome = { ok: true };

export class Ref {
  status: ContractStatus = 'proposal';
  ms: M[] = [];
  payments: Payment[] = [];
  acc = { world: 0, clientFunding: 0, contractor: 0, feesClient: 0, feesContractor: 0 };
  escrow: number[] = [];

  constructor(readonly s: Setup) {
    for (const amount of s.initial) this.addMilestone(s.creator, amount);
  }

  get p() {
    return this.s.policy;
  }
  held(m: M) {
    return m.funded - m.released - m.refunded;
  }
  get hasEscrow() {
    return this.p.escrow === 'required';
  }
  get live() {
    return this.status === 'active';
  }
  get open() {
    return this.status === 'proposal' || this.status === 'active';
  }

  private addMilestone(party: Role, amount: number) {
    const ask = this.p.changesNeedAcceptance[party];
    this.ms.push({ status: ask ? 'proposed' : 'accepted', by: ask ? party : null, amount, funded: 0, released: 0, refunded: 0, pending: false, revisions: 0, clientFeeIn: 0, clientFeeBack: 0, contractorFee: 0, draft: 'none', dispute: 'none' });
    this.escrow.push(0);
  }

  // ── money ──
  private charge(i: number, pending: boolean) {
    const m = this.ms[i]!;
    const fee = feeOn(m.amount, this.s.fees.clientBps);
    this.acc.world -= m.amount + fee;
    this.acc.feesClient += fee;
    this.escrow[i]! += m.amount;
    m.funded += m.amount;
    m.clientFeeIn += fee;
    m.status = 'funded';
    m.pending = pending;
  }
  /** Releases to the contractor; the contractor fee is on everything released from the milestone so far. */
  private pay(i: number, amount: number, kind: string) {
    const m = this.ms[i]!;
    m.released += amount;
    const fee = feeOn(m.released, this.s.fees.contractorBps) - m.contractorFee;
    m.contractorFee += fee;
    this.escrow[i]! -= amount;
    this.acc.contractor += amount - fee;
    this.acc.feesContractor += fee;
    this.payments.push({ m: i, kind, amount, fee, status: 'paid' });
  }
  /** Returns escrow to the client with the share of the client fee that corresponds to it. */
  private giveBack(i: number, amount: number) {
    const m = this.ms[i]!;
    m.refunded += amount;
    const due = m.refunded >= m.funded ? m.clientFeeIn : Number((BigInt(m.clientFeeIn) * BigInt(m.refunded)) / BigInt(m.funded));
    const back = Math.max(0, due - m.clientFeeBack);
    m.clientFeeBack += back;
    this.escrow[i]! -= amount;
    this.acc.feesClient -= back;
    this.acc.world += amount + back;
  }
  private fundingRefusal(i: number): string | null {
    const m = this.ms[i]!;
    const others = this.ms.filter((x, j) => j !== i && (x.status === 'funded' || x.status === 'submitted' || x.status === 'disputed')).length;
    if (this.p.maxFundedMilestones !== null && others >= this.p.maxFundedMilestones) return 'funding_limit_reached';
    if (m.amount < this.p.minFundingAmount[this.s.currency]) return 'amount_below_minimum';
    return null;
  }
  /** Under on_acceptance, the contractor's acceptance on a live contract charges the client's saved card (it succeeds); if funding is not allowed the milestone stays accepted. */
  private chargeOnAcceptance(i: number, by: Who) {
    if (this.hasEscrow && this.p.fundingTrigger === 'on_acceptance' && this.live && by === 'contractor' && this.fundingRefusal(i) === null) this.charge(i, false);
  }

  apply(c: Cmd): Outcome {
    const party: Role | null = c.who === 'client' || c.who === 'contractor' ? c.who : null;
    const i = 'i' in c ? c.i : -1;
    const m = 'i' in c ? this.ms[c.i] : undefined;
    if ('i' in c && !m) return refused('no_milestone');
    const held = m ? this.held(m) : 0;
    const fundedLike = m?.status === 'funded' || m?.status === 'submitted';
    switch (c.k) {
      case 'activate':
      case 'cdecline': {
        if (!party || party === this.s.creator) return refused('forbidden');
        if (this.status !== 'proposal') return refused('invalid_state');
        if (c.k === 'cdecline') return this.endProposal('declined');
        // Accepting the proposal accepts the milestones its creator proposed with it.
        this.status = 'active';
        this.ms.forEach((x, j) => {
          if (x.status !== 'proposed' || x.by !== this.s.creator) return;
          x.status = 'accepted';
          x.by = null;
          this.chargeOnAcceptance(j, party);
        });
        return OK;
      }
      case 'withdraw':
        if (party !== this.s.creator) return refused('forbidden');
        if (this.status !== 'proposal') return refused('invalid_state');
        return this.endProposal('withdrawn');
      case 'add': {
        if (!party) return refused('forbidden');
        if (this.p.milestoneCreators !== 'both' && this.p.milestoneCreators !== party) return refused('forbidden');
        if (!this.open) return refused('invalid_state');
        this.addMilestone(party, c.amount);
        return OK;
      }
      case 'accept':
      case 'decline': {
        if (!party) return refused('forbidden');
        if (!this.open || m!.status !== 'proposed') return refused('invalid_state');
        if (m!.by === party) return refused('forbidden');
        m!.by = null;
        m!.status = c.k === 'accept' ? 'accepted' : 'declined';
        if (c.k === 'accept') this.chargeOnAcceptance(i, party);
        return OK;
      }
      case 'fund': {
        if (c.who !== 'client') return refused('forbidden');
        if (!this.live || !this.hasEscrow || m!.status !== 'accepted') return refused('invalid_state');
        const no = this.fundingRefusal(i);
        if (no) return refused(no);
        if (c.card === 'declined') return refused('payment_declined');
        this.charge(i, c.card === 'later');
        return OK;
      }
      case 'settle': {
        // The sandbox's pm_card_fails_later: the pending deposit fails and is reversed.
        if (!m!.pending) return refused('no_pending');
        m!.pending = false;
        if (held > 0) this.giveBack(i, held);
        m!.status = 'accepted';
        return OK;
      }
      case 'submit': {
        if (c.who !== 'contractor') return refused('forbidden');
        const from: Status[] = this.hasEscrow ? ['funded'] : ['accepted', 'in_progress'];
        if (!this.live || !from.includes(m!.status)) return refused('invalid_state');
        m!.status = 'submitted';
        return OK;
      }
      case 'approve': {
        if (c.who !== 'client') return refused('forbidden');
        const from: Status[] = this.p.submissionRequired ? ['submitted'] : this.hasEscrow ? ['funded', 'submitted'] : ['accepted', 'in_progress', 'submitted'];
        if (!this.live || !from.includes(m!.status)) return refused('invalid_state');
        if (!this.hasEscrow) {
          // No escrow: approval creates a draft payment for the client to pay.
          m!.status = 'approved';
          m!.draft = 'draft';
          this.payments.push({ m: i, kind: 'milestone', amount: m!.amount, fee: 0, status: 'draft' });
          return OK;
        }
        if (m!.pending) return refused('funding_pending');
        if (held > 0) this.pay(i, held, 'milestone');
        m!.status = 'paid';
        return OK;
      }
      case 'reject': {
        if (c.who !== 'client') return refused('forbidden');
        if (!this.live || m!.status !== 'submitted') return refused('invalid_state');
        if (this.p.maxRevisionRounds !== null && m!.revisions >= this.p.maxRevisionRounds) return refused('revision_limit_reached');
        m!.revisions++;
        m!.status = this.hasEscrow ? 'funded' : 'in_progress';
        return OK;
      }
      case 'release': {
        if (c.who !== 'client') return refused('forbidden');
        if (!this.live || !this.hasEscrow || !fundedLike) return refused('invalid_state');
        if (m!.pending) return refused('funding_pending');
        const amount = Math.floor(held * c.frac) + c.delta;
        if (amount <= 0 || amount > held) return refused('validation_failed');
        this.pay(i, amount, 'partial_release');
        if (amount === held) m!.status = 'paid';
        return OK;
      }
      case 'refund': {
        if (c.who !== 'contractor' && c.who !== 'admin') return refused('forbidden');
        if (!fundedLike) return refused('invalid_state');
        if (m!.pending) return refused('funding_pending');
        if (held > 0) this.giveBack(i, held);
        m!.status = 'refunded';
        return OK;
      }
      case 'dispute': {
        if (!party) return refused('forbidden');
        if (!this.live || !this.hasEscrow || !fundedLike) return refused('invalid_state');
        if (m!.pending) return refused('funding_pending');
        m!.status = 'disputed';
        m!.dispute = 'open';
        return OK;
      }
      case 'resolve': {
        if (m!.dispute === 'none') return refused('no_dispute');
        if (c.who !== 'admin') return refused('forbidden');
        if (m!.dispute === 'resolved' || m!.status !== 'disputed') return refused('invalid_state');
        const release = Math.floor(held * c.frac);
        const refund = held - release + c.delta;
        if (refund < 0 || release + refund !== held) return refused('validation_failed');
        if (release > 0) this.pay(i, release, 'dispute_release');
        if (refund > 0) this.giveBack(i, refund);
        m!.status = release > 0 ? 'paid' : 'refunded';
        m!.dispute = 'resolved';
        return OK;
      }
      case 'pay': {
        // The client pays the milestone's payment: its draft if it has one, else any of its payments.
        if (!this.payments.some((x) => x.m === i)) return refused('no_payment');
        if (c.who !== 'client') return refused('forbidden');
        if (m!.draft !== 'draft') return refused('invalid_state');
        if (c.card === 'declined') return refused('payment_declined');
        const clientFee = feeOn(m!.amount, this.s.fees.clientBps);
        const contractorFee = feeOn(m!.amount, this.s.fees.contractorBps);
        this.acc.world -= m!.amount + clientFee;
        this.acc.feesClient += clientFee;
        this.acc.contractor += m!.amount - contractorFee;
        this.acc.feesContractor += contractorFee;
        const p = this.payments.find((x) => x.m === i && x.status === 'draft')!;
        p.status = 'paid';
        p.fee = contractorFee;
        m!.draft = 'paid';
        if (m!.status === 'approved') m!.status = 'paid';
        return OK;
      }
      case 'close':
        return this.close(c);
    }
  }

  private endProposal(to: 'withdrawn' | 'declined'): Outcome {
    this.status = to;
    for (const m of this.ms) if (m.status === 'proposed' || m.status === 'accepted') m.status = 'cancelled';
    return OK;
  }

  /** What the close command sends: the client releases everything held; the contractor gives it back; the admin may split. */
  closeBody(c: Extract<Cmd, { k: 'close' }>): { release?: number } {
    const total = this.ms.reduce((a, m) => a + this.held(m), 0);
    if (c.who === 'client') return { release: total };
    if (!c.split) return c.who === 'admin' ? { release: total } : {};
    return { release: Math.floor(total * c.frac) };
  }

  private close(c: Extract<Cmd, { k: 'close' }>): Outcome {
    if (c.who === 'system') return refused('forbidden');
    if (this.status !== 'active') return refused('invalid_state');
    const release = this.closeBody(c).release ?? 0;
    if (c.who === 'contractor' && release > 0) return refused('forbidden');
    if (this.ms.some((m) => m.status === 'disputed')) return refused('invalid_state');
    if (this.ms.some((m) => m.pending)) return refused('funding_pending');
    if (c.who === 'client' && this.ms.some((m) => m.status === 'submitted')) return refused('invalid_state');
    const holding = this.ms.map((m, i) => ({ i, held: this.held(m) })).filter((x) => x.held > 0);
    const shares = largestRemainder(release, holding.map((x) => x.held));
    holding.forEach(({ i, held }, k) => {
      const rel = shares[k]!;
      if (rel > 0) this.pay(i, rel, 'close_release');
      if (held - rel > 0) this.giveBack(i, held - rel);
      this.ms[i]!.status = rel > 0 ? 'paid' : 'refunded';
    });
    for (const m of this.ms) {
      if (['proposed', 'accepted', 'in_progress', 'submitted'].includes(m.status)) {
        m.status = 'cancelled';
        m.by = null;
      }
    }
    this.status = 'closed';
    return OK;
  }

  observe(): Observed {
    const escrow = this.hasEscrow;
    let inEscrow = 0;
    let paid = 0;
    let remaining = 0;
    for (const m of this.ms) {
      inEscrow += this.held(m);
      paid += escrow ? m.released : m.draft === 'paid' ? m.amount : 0;
      // agreed work not yet funded or paid
      if (['accepted', 'in_progress', 'approved'].includes(m.status) || (m.status === 'submitted' && !escrow)) remaining += m.amount;
    }
    const balances: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.acc)) if (v !== 0) balances[k] = v;
    this.escrow.forEach((v, i) => {
      if (v !== 0) balances[`escrow:${i}`] = v;
    });
    return {
      contract: this.status,
      milestones: this.ms.map((m) => ({ status: m.status, amount: m.amount, funded: m.funded, released: m.released, refunded: m.refunded, proposedBy: m.status === 'proposed' ? m.by : null, pending: m.pending, revisions: m.revisions })),
      payments: this.payments.map((p) => `m${p.m} ${p.kind} ${p.amount} ${p.fee} ${p.status}`).sort(),
      overview: { total: inEscrow + paid + remaining, inEscrow, paid, remaining },
      balances,
    };
  }
}

// ───────────────────────────── generators ─────────────────────────────

const policyArb: fc.Arbitrary<ModelPolicy> = fc
  .record({
    milestoneCreators: fc.constantFrom<ModelPolicy['milestoneCreators']>('client', 'contractor', 'both'),
    changesNeedAcceptance: fc.record({ client: fc.boolean(), contractor: fc.boolean() }),
    escrow: fc.constantFrom<ModelPolicy['escrow']>('required', 'required', 'required', 'none'),
    fundingTrigger: fc.constantFrom<ModelPolicy['fundingTrigger']>('client_funds', 'client_funds', 'on_acceptance'),
    maxFundedMilestones: fc.option(fc.integer({ min: 1, max: 3 })),
    minFundingAmount: fc.record({ USD: fc.constantFrom(0, 0, 0, 500), JPY: fc.constantFrom(0, 0, 0, 100) }),
    submissionRequired: fc.boolean(),
    deletableUntil: fc.constantFrom<ModelPolicy['deletableUntil']>('accepted', 'funded_unpaid'),
    maxRevisionRounds: fc.option(fc.integer({ min: 0, max: 2 })),
  })
  // on_acceptance needs escrow (a proposal asking otherwise is refused)
  .map((p) => (p.escrow === 'none' ? { ...p, fundingTrigger: 'client_funds' as const } : p));

/** Small amounts too, where per-step rounding of fees would show. */
const amountArb = fc.oneof(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 100, max: 2_000 }), fc.integer({ min: 1, max: 30 }));
const feesArb: fc.Arbitrary<Fees> = fc.record({
  clientBps: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5000 })),
  contractorBps: fc.oneof(fc.constantFrom(1000, 2500, 333), fc.integer({ min: 0, max: 5000 })),
});

export const setupArb: fc.Arbitrary<Setup> = fc
  .record({
    preset: fc.constantFrom(...PRESETS),
    policy: policyArb,
    fees: feesArb,
    currency: fc.constantFrom<Setup['currency']>('USD', 'JPY'),
    creator: fc.constantFrom<Role>('client', 'contractor'),
    initial: fc.array(amountArb, { minLength: 1, maxLength: 3 }),
  })
  .map((s) => (s.policy.milestoneCreators === 'both' || s.policy.milestoneCreators === s.creator ? s : { ...s, initial: [] }));

const anyone = fc.constantFrom<Who>('client', 'contractor', 'admin');
const by = (...natural: Who[]) => fc.oneof({ weight: 10, arbitrary: fc.constantFrom(...natural) }, { weight: 1, arbitrary: anyone });
const idx = fc.nat({ max: 15 });
const frac = fc.oneof({ weight: 1, arbitrary: fc.constantFrom(0, 0.5, 1) }, { weight: 4, arbitrary: fc.double({ min: 0.01, max: 1, noNaN: true }) }, { weight: 2, arbitrary: fc.double({ min: 0, max: 0.05, noNaN: true }) });
const delta = fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 2 }) });

export const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('add' as const), who: by('client', 'contractor'), amount: amountArb }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constantFrom('accept' as const, 'accept' as const, 'decline' as const), who: by('client', 'contractor'), i: idx }) },
  { weight: 7, arbitrary: fc.record({ k: fc.constant('fund' as const), who: by('client'), i: idx, card: fc.constantFrom<Card>('ok', 'ok', 'ok', 'declined', 'later') }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('settle' as const), who: fc.constant<Who>('system'), i: idx }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('submit' as const), who: by('contractor'), i: idx }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constantFrom('approve' as const, 'approve' as const, 'reject' as const), who: by('client'), i: idx }) },
  { weight: 9, arbitrary: fc.record({ k: fc.constant('release' as const), who: by('client'), i: idx, frac, delta }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('refund' as const), who: by('contractor', 'admin'), i: idx }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('dispute' as const), who: by('client', 'contractor'), i: idx }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('resolve' as const), who: by('admin'), i: idx, frac, delta }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('pay' as const), who: by('client'), i: idx, card: fc.constantFrom<'ok' | 'declined'>('ok', 'ok', 'declined') }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('close' as const), who: anyone, split: fc.boolean(), frac }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constantFrom('withdraw' as const, 'cdecline' as const), who: anyone }) },
);

export type Sequence = { setup: Setup; cmds: Cmd[] };

/** A setup, most often the proposal accepted by the other party, a milestone or two, then random commands. */
export const sequenceArb = (maxCommands: number): fc.Arbitrary<Sequence> =>
  setupArb.chain((setup) => {
    const other: Role = setup.creator === 'client' ? 'contractor' : 'client';
    const creators: Role[] = setup.policy.milestoneCreators === 'both' ? ['client', 'contractor'] : [setup.policy.milestoneCreators];
    const seedAdd = fc.record({ k: fc.constant('add' as const), who: fc.constantFrom<Who>(...creators), amount: amountArb });
    return fc
      .tuple(
        fc.array(seedAdd, { maxLength: 1 }),
        fc.nat({ max: 9 }),
        fc.constantFrom<Who>(...Array<Who>(20).fill(other), setup.creator, 'admin'),
        fc.nat({ max: 9 }),
        fc.array(cmdArb, { minLength: 2, maxLength: maxCommands }),
      )
      .map(([adds, activate, activator, fund, cmds]) => ({
        setup,
        cmds: [
          ...adds,
          ...(activate > 0 ? [{ k: 'activate', who: activator } as Cmd] : []),
          // most often the client funds a milestone first, so that sequences reach the money
          ...(fund > 2 ? [{ k: 'fund', who: 'client', i: 0, card: 'ok' } as Cmd] : []),
          ...cmds,
        ],
      }));
  });

/** Statuses a command is usually aimed at. */
const AIM: Partial<Record<Cmd['k'], Status[]>> = {
  accept: ['proposed'],
  decline: ['proposed'],
  fund: ['accepted'],
  submit: ['funded', 'accepted', 'in_progress'],
  approve: ['submitted', 'funded'],
  reject: ['submitted'],
  release: ['funded', 'submitted'],
  refund: ['funded', 'submitted'],
  dispute: ['funded', 'submitted'],
  resolve: ['disputed'],
  pay: ['approved', 'approved', 'paid'],
};

/**
 * Test machinery, not product logic: seven times in eight a milestone command is aimed at a
 * milestone in a status it usually applies to (so that sequences get somewhere), otherwise at
 * any milestone; null drops the command. Both sides then get the same concrete index.
 */
export function aim(c: Cmd, ms: { status: Status; pending: boolean }[]): Cmd | null {
  if (!('i' in c)) return c;
  if (ms.length === 0) return null;
  const fit = ms.map((m, i) => ({ m, i })).filter(({ m }) => (c.k === 'settle' ? m.pending : (AIM[c.k] ?? []).includes(m.status)));
  // With nothing to aim at, most such commands are dropped (they could only be refused).
  if (fit.length === 0) return c.i % 4 === 0 ? { ...c, i: c.i % ms.length } : null;
  if (c.i % 8 === 7) return { ...c, i: c.i % ms.length };
  return { ...c, i: fit[c.i % fit.length]!.i };
}
