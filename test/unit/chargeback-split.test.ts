import { describe, expect, it } from 'vitest';
import { chargebackSplit } from '../../src/domain/chargebacks.ts';

describe('chargebackSplit', () => {
  it('takes what escrow holds first, then the client fee, and the rest is the platform’s loss', () => {
    expect(chargebackSplit({ amount: 10300, held: 10000, feeAvailable: 300 })).toEqual({ fromEscrow: 10000, feeBack: 300, loss: 0 });
    expect(chargebackSplit({ amount: 10300, held: 6000, feeAvailable: 300 })).toEqual({ fromEscrow: 6000, feeBack: 300, loss: 4000 });
    expect(chargebackSplit({ amount: 8240, held: 0, feeAvailable: 240 })).toEqual({ fromEscrow: 0, feeBack: 240, loss: 8000 });
    // A partial dispute never takes more than its amount.
    expect(chargebackSplit({ amount: 500, held: 10000, feeAvailable: 300 })).toEqual({ fromEscrow: 500, feeBack: 0, loss: 0 });
    expect(chargebackSplit({ amount: 10100, held: 10000, feeAvailable: 300 })).toEqual({ fromEscrow: 10000, feeBack: 100, loss: 0 });
  });

  it('always sums to the amount, with no negative part', () => {
    for (let i = 0; i < 2000; i++) {
      const amount = 1 + Math.floor(Math.random() * 1e6);
      const x = { amount, held: Math.floor(Math.random() * 1e6) - 10, feeAvailable: Math.floor(Math.random() * 1e4) - 10 };
      const s = chargebackSplit(x);
      expect(s.fromEscrow + s.feeBack + s.loss).toBe(amount);
      expect(Math.min(s.fromEscrow, s.feeBack, s.loss)).toBeGreaterThanOrEqual(0);
      expect(s.fromEscrow).toBeLessThanOrEqual(Math.max(0, x.held));
      expect(s.feeBack).toBeLessThanOrEqual(Math.max(0, x.feeAvailable));
    }
  });
});
