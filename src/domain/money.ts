import { AppError } from './errors.ts';

/**
 * ISO 4217 currencies with their minor-unit exponent. Amounts are integers of the minor unit
 * (cents, yen, fils): never floats.
 */
export const CURRENCIES: Record<string, number> = {
  AED: 2, ARS: 2, AUD: 2, BGN: 2, BHD: 3, BRL: 2, CAD: 2, CHF: 2, CLP: 0, CNY: 2, COP: 2,
  CZK: 2, DKK: 2, EGP: 2, EUR: 2, GBP: 2, HKD: 2, HUF: 2, IDR: 2, ILS: 2, INR: 2, ISK: 0,
  JOD: 3, JPY: 0, KES: 2, KRW: 0, KWD: 3, MAD: 2, MXN: 2, MYR: 2, NGN: 2, NOK: 2, NZD: 2,
  OMR: 3, PHP: 2, PKR: 2, PLN: 2, QAR: 2, RON: 2, RSD: 2, SAR: 2, SEK: 2, SGD: 2, THB: 2,
  TND: 3, TRY: 2, TWD: 2, UAH: 2, USD: 2, VND: 0, ZAR: 2,
};

/** Largest accepted amount: well inside Number.MAX_SAFE_INTEGER so sums never lose precision. */
export const MAX_AMOUNT = 1_000_000_000_000;

export function isCurrency(code: string): boolean {
  return Object.hasOwn(CURRENCIES, code);
}

export function minorUnits(currency: string): number {
  const e = CURRENCIES[currency];
  if (e === undefined) throw new AppError('validation_failed', `unknown currency ${currency}`);
  return e;
}

/** Formats an amount for people: 12345 USD → "123.45 USD"; 500 JPY → "500 JPY". */
export function formatMoney(amount: number, currency: string): string {
  const exp = minorUnits(currency);
  const sign = amount < 0 ? '-' : '';
  const abs = Math.abs(amount);
  if (exp === 0) return `${sign}${abs} ${currency}`;
  const unit = 10 ** exp;
  return `${sign}${Math.floor(abs / unit)}.${String(abs % unit).padStart(exp, '0')} ${currency}`;
}

/**
 * Splits `total` in proportion to integer `weights`; remainders go to the largest fractional
 * parts first (ties to the earlier part), so the parts always sum to exactly `total`.
 */
export function allocate(total: number, weights: readonly number[]): number[] {
  if (!Number.isSafeInteger(total) || total < 0) throw new Error('allocate: total must be a non-negative integer');
  const sum = weights.reduce((a, b) => a + b, 0);
  if (weights.some((w) => !Number.isSafeInteger(w) || w < 0)) throw new Error('allocate: weights must be non-negative integers');
  if (sum === 0) {
    if (total === 0) return weights.map(() => 0);
    throw new Error('allocate: weights sum to zero');
  }
  // BigInt keeps total * weight exact even for large amounts.
  const parts = weights.map((w) => (BigInt(total) * BigInt(w)) / BigInt(sum));
  const rems = weights.map((w, i) => ({ i, r: (BigInt(total) * BigInt(w)) % BigInt(sum) }));
  let left = BigInt(total) - parts.reduce((a, b) => a + b, 0n);
  rems.sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  for (const { i } of rems) {
    if (left === 0n) break;
    parts[i] = parts[i]! + 1n;
    left -= 1n;
  }
  return parts.map(Number);
}

/** A fee in basis points of `amount`, rounded down (the remainder stays with the payee). */
export function feeOf(amount: number, bps: number): number {
  return Number((BigInt(amount) * BigInt(bps)) / 10_000n);
}

/**
 * The fee due on one step of an amount paid out in steps (a milestone's releases): the fee of
 * everything so far, minus the fees already charged on the earlier steps. Rounding happens
 * once, on the running total, so any split of the same total carries exactly the one-step fee
 * (rounded per step, 111 releases of 9 at 10 % would each carry 0 instead of 100 in all).
 */
export function cumulativeFee(amountSoFar: number, bps: number, alreadyCharged: number): number {
  return Math.max(0, feeOf(amountSoFar, bps) - alreadyCharged);
}

/**
 * Cumulative share: the part of `whole` that corresponds to `done` out of `of`, rounded down,
 * minus what was already taken. Taking shares step by step this way never drifts: when `done`
 * reaches `of` the steps sum to exactly `whole`.
 */
export function cumulativeShare(whole: number, done: number, of: number, alreadyTaken: number): number {
  if (of === 0) return 0;
  const target = done >= of ? whole : Number((BigInt(whole) * BigInt(done)) / BigInt(of));
  return Math.max(0, target - alreadyTaken);
}
