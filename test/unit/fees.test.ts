import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cumulativeFee, MAX_AMOUNT } from '../../src/domain/money.ts';

// Trust issue, defect 3: a fee rounded down on every part of a split release leaked (111 × 9 + 1
// at 10 % charged 0 instead of 100). The fee of a step is the fee of everything so far minus
// what was already charged, so every split of a total carries exactly the one-step fee.

/** The one-step fee, written out independently: floor(total × bps / 10 000), in BigInt. */
const oneStep = (total: number, bps: number) => Number((BigInt(total) * BigInt(bps)) / 10_000n);

/** Charges `parts` one after another the way releases do; returns each step's fee. */
function chargeInSteps(parts: number[], bps: number): number[] {
  let sofar = 0;
  let charged = 0;
  return parts.map((p) => {
    sofar += p;
    const fee = cumulativeFee(sofar, bps, charged);
    charged += fee;
    return fee;
  });
}

/** A total and a random split of it into positive parts (cut at distinct random points). */
const splitArb = fc
  .oneof(fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: 1, max: MAX_AMOUNT }))
  .chain((total) =>
    fc
      .uniqueArray(fc.integer({ min: 1, max: Math.max(1, total - 1) }), { maxLength: Math.min(total - 1, 60) })
      .map((cuts) => {
        const points = [0, ...cuts.filter((c) => c < total).sort((a, b) => a - b), total];
        return { total, parts: points.slice(1).map((p, i) => p - points[i]!) };
      }),
  );
const bpsArb = fc.oneof(fc.integer({ min: 0, max: 10_000 }), fc.constantFrom(0, 1, 250, 1000, 2999, 5000));

describe('cumulative fees', () => {
  it('any split of a total carries exactly the one-step fee, each step between 0 and its part', () => {
    fc.assert(
      fc.property(splitArb, bpsArb, ({ total, parts }, bps) => {
        expect(parts.reduce((a, b) => a + b, 0)).toBe(total);
        const fees = chargeInSteps(parts, bps);
        expect(fees.reduce((a, b) => a + b, 0)).toBe(oneStep(total, bps));
        fees.forEach((f, i) => {
          expect(Number.isSafeInteger(f)).toBe(true);
          expect(f).toBeGreaterThanOrEqual(0);
          expect(f).toBeLessThanOrEqual(parts[i]!);
        });
      }),
      { numRuns: 5_000 },
    );
  });

  it('111 × 9 + 1 at 10 % charges 100, as one step of 1,000 does', () => {
    const fees = chargeInSteps([...Array<number>(111).fill(9), 1], 1000);
    expect(fees.reduce((a, b) => a + b, 0)).toBe(100);
    expect(chargeInSteps([1_000], 1000)).toEqual([100]);
  });
});
