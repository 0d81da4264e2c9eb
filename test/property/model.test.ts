import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolvePolicy } from '../../src/domain/policy.ts';
import { Accounts } from '../../src/ledger/accounts.ts';
import { modelArb, P, runSequence, type Setup } from './model-core.ts';

// See model-core.ts: random sequences run against the real domain code and a plain reference
// model; every ledger invariant and the agreement of both is checked after every step.

describe('model: random command sequences against the real domain and a reference model', () => {
  it('agree, and keep every ledger invariant after every step', () => {
    const totals = { ok: 0, refused: 0, funded: 0, paid: 0, refunded: 0, closed: 0, disputedResolved: 0 };
    fc.assert(
      fc.property(modelArb, ([setup, cmds]) => {
        const { impl, stats } = runSequence(setup, cmds);
        totals.ok += stats.ok;
        totals.refused += stats.refused;
        totals.funded += impl.ms.filter((m) => m.fundedAmount > 0).length;
        totals.paid += impl.ms.filter((m) => m.status === 'paid').length;
        totals.refunded += impl.ms.filter((m) => m.status === 'refunded').length;
        totals.closed += impl.status === 'closed' ? 1 : 0;
      }),
      { numRuns: 10_000 },
    );
    // the generators reach the interesting places (not a vacuous pass)
    expect(totals.ok).toBeGreaterThan(40_000);
    expect(totals.funded).toBeGreaterThan(2_000);
    expect(totals.paid).toBeGreaterThan(300);
    expect(totals.refunded).toBeGreaterThan(300);
    expect(totals.closed).toBeGreaterThan(300);
  });

  it('a known sequence: fund pending, fail, re-fund, partial release, dispute, split, close', () => {
    const setup: Setup = { policy: resolvePolicy({ preset: 'sequential_escrow', overrides: { platformFee: { clientBps: 300, contractorBps: 1000 } } }), currency: 'USD', creator: 'client' };
    const { impl, ref } = runSequence(setup, [
      { k: 'activate', who: 'client' },
      { k: 'add', who: 'client', amount: 10_000 },
      { k: 'add', who: 'contractor', amount: 5_000 },
      { k: 'fund', who: 'client', i: 0, pending: true },
      { k: 'approve', who: 'client', i: 0 }, // funding_pending
      { k: 'fail', who: 'system', i: 0 },
      { k: 'fund', who: 'client', i: 0, pending: false },
      { k: 'fund', who: 'client', i: 1, pending: false }, // proposed, not accepted yet
      { k: 'accept', who: 'client', i: 1 },
      { k: 'fund', who: 'client', i: 1, pending: false }, // funding_limit_reached
      { k: 'release', who: 'client', i: 0, frac: 0.25, delta: 0 },
      { k: 'dispute', who: 'contractor', i: 0 },
      { k: 'resolve', who: 'admin', i: 0, frac: 0.5, delta: 0 },
      { k: 'fund', who: 'client', i: 1, pending: false },
      { k: 'close', who: 'client', mode: 'refund', frac: 0.4, delta: 0 },
    ]);
    expect(impl.status).toBe('closed');
    expect(impl.ms.map((m) => m.status)).toEqual(['paid', 'paid']);
    // 10_000: 2_500 released, then 7_500 split 3_750 / 3_750; 5_000 closed with 2_000 refunded
    expect(impl.ms[0]).toMatchObject({ fundedAmount: 20_000, releasedAmount: 6_250, refundedAmount: 13_750 });
    expect(impl.ms[1]).toMatchObject({ fundedAmount: 5_000, releasedAmount: 3_000, refundedAmount: 2_000 });
    expect(impl.overview()).toEqual({ total: 9_250, inEscrow: 0, paid: 9_250, remaining: 0 });
    // contractor got 90 % of what was released; client fees: 3 % of 15_000 funded net of refunds
    expect(impl.bal.get(Accounts.contractorBalance(P.contractorId))).toBe(8_325);
    expect(impl.bal.get(Accounts.contractorFees())).toBe(925);
    expect(ref.contractor).toBe(8_325);
  });
});
