import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocate, CURRENCIES, cumulativeShare, feeOf, formatMoney, isCurrency, MAX_AMOUNT, minorUnits } from '../../src/domain/money.ts';

const amount = fc.integer({ min: 0, max: MAX_AMOUNT });
const weights = fc.array(fc.integer({ min: 0, max: MAX_AMOUNT }), { minLength: 1, maxLength: 12 }).filter((ws) => ws.some((w) => w > 0));

describe('allocate', () => {
  it('parts are non-negative integers that sum to exactly the total, each within 1 of its exact share', () => {
    fc.assert(
      fc.property(amount, weights, (total, ws) => {
        const parts = allocate(total, ws);
        expect(parts).toHaveLength(ws.length);
        let sum = 0n;
        const wsum = ws.reduce((a, b) => a + BigInt(b), 0n);
        parts.forEach((p, i) => {
          expect(Number.isSafeInteger(p)).toBe(true);
          expect(p).toBeGreaterThanOrEqual(0);
          sum += BigInt(p);
          // exact share = total * w / wsum; |p - share| < 1  <=>  |p * wsum - total * w| < wsum
          const diff = BigInt(p) * wsum - BigInt(total) * BigInt(ws[i]!);
          expect(diff < 0n ? -diff : diff).toBeLessThan(wsum);
          // a zero weight never receives anything
          if (ws[i] === 0) expect(p).toBe(0);
        });
        expect(sum).toBe(BigInt(total));
      }),
      { numRuns: 2000 },
    );
  });

  it('gives remainders to the largest fractional parts, ties to the earlier part', () => {
    expect(allocate(100, [1, 1, 1])).toEqual([34, 33, 33]);
    expect(allocate(2, [1, 1, 1])).toEqual([1, 1, 0]);
    expect(allocate(10, [1, 2])).toEqual([3, 7]); // 3.33 / 6.67 -> the .67 gets the cent
    expect(allocate(5, [0, 3, 0])).toEqual([0, 5, 0]);
    expect(allocate(0, [0, 0])).toEqual([0, 0]);
  });

  it('is exact for amounts where floating point would drift', () => {
    const parts = allocate(MAX_AMOUNT, [MAX_AMOUNT - 1, 1, 3]);
    expect(parts.reduce((a, b) => a + b, 0)).toBe(MAX_AMOUNT);
  });

  it('refuses bad input', () => {
    expect(() => allocate(-1, [1])).toThrow();
    expect(() => allocate(1.5, [1])).toThrow();
    expect(() => allocate(10, [0, 0])).toThrow();
    expect(() => allocate(10, [1, -1, 2])).toThrow();
    expect(() => allocate(10, [0.5, 1])).toThrow();
  });
});

describe('feeOf', () => {
  it('is the floor of amount * bps / 10000', () => {
    fc.assert(
      fc.property(amount, fc.integer({ min: 0, max: 10_000 }), (a, bps) => {
        const fee = feeOf(a, bps);
        expect(Number.isSafeInteger(fee)).toBe(true);
        // fee <= a*bps/10000 < fee + 1
        expect(BigInt(fee) * 10_000n <= BigInt(a) * BigInt(bps)).toBe(true);
        expect((BigInt(fee) + 1n) * 10_000n > BigInt(a) * BigInt(bps)).toBe(true);
        expect(fee).toBeLessThanOrEqual(a);
      }),
      { numRuns: 2000 },
    );
  });
  it('rounds down (the remainder stays with the payee)', () => {
    expect(feeOf(999, 100)).toBe(9);
    expect(feeOf(1, 5000)).toBe(0);
    expect(feeOf(10_000, 250)).toBe(250);
    expect(feeOf(12345, 0)).toBe(0);
  });
});

describe('cumulativeShare', () => {
  it('steps taken as `done` grows never go negative and sum to exactly the whole when done reaches of', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_AMOUNT }),
        fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 1, maxLength: 10 }),
        (whole, steps) => {
          const of = steps.reduce((a, b) => a + b, 0);
          let done = 0;
          let taken = 0;
          for (const s of steps) {
            done += s;
            const step = cumulativeShare(whole, done, of, taken);
            expect(step).toBeGreaterThanOrEqual(0);
            taken += step;
            // never more than the proportional share, rounded up
            expect(BigInt(taken) * BigInt(of) <= BigInt(whole) * BigInt(done) + BigInt(of)).toBe(true);
          }
          expect(taken).toBe(whole);
        },
      ),
      { numRuns: 2000 },
    );
  });
  it('handles of = 0 and overshooting done', () => {
    expect(cumulativeShare(100, 0, 0, 0)).toBe(0);
    expect(cumulativeShare(100, 7, 5, 40)).toBe(60);
    expect(cumulativeShare(100, 1, 3, 0)).toBe(33);
    expect(cumulativeShare(100, 2, 3, 33)).toBe(33);
    expect(cumulativeShare(100, 3, 3, 66)).toBe(34);
  });
});

describe('currencies', () => {
  it('knows minor units of ISO 4217 currencies', () => {
    expect(minorUnits('USD')).toBe(2);
    expect(minorUnits('JPY')).toBe(0);
    expect(minorUnits('BHD')).toBe(3);
    expect(isCurrency('EUR')).toBe(true);
    expect(isCurrency('XXX')).toBe(false);
    expect(isCurrency('toString')).toBe(false);
    expect(() => minorUnits('XXX')).toThrow(expect.objectContaining({ code: 'validation_failed' }));
    for (const [code, exp] of Object.entries(CURRENCIES)) {
      expect(code).toMatch(/^[A-Z]{3}$/);
      expect([0, 2, 3]).toContain(exp);
    }
  });
  it('formats amounts without floats', () => {
    expect(formatMoney(12345, 'USD')).toBe('123.45 USD');
    expect(formatMoney(5, 'USD')).toBe('0.05 USD');
    expect(formatMoney(-5, 'EUR')).toBe('-0.05 EUR');
    expect(formatMoney(500, 'JPY')).toBe('500 JPY');
    expect(formatMoney(1234, 'BHD')).toBe('1.234 BHD');
    fc.assert(
      fc.property(amount, (a) => {
        const s = formatMoney(a, 'USD');
        const [num] = s.split(' ');
        expect(BigInt(num!.replace('.', ''))).toBe(BigInt(a));
      }),
    );
  });
});
