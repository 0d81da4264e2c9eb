import { AppError } from '../domain/errors.ts';
import { formatMoney, minorUnits } from '../domain/money.ts';

/**
 * Stripe's amounts: an integer in the currency's smallest unit as *Stripe* counts it, which is
 * ISO 4217's minor unit (ours, src/domain/money.ts) except where Stripe differs:
 * - zero-decimal currencies (JPY, KRW, CLP, VND…) are zero-decimal on both sides: 500 JPY is 500;
 * - ISK is zero-decimal for ISO but two-decimal for Stripe, with "00" (5 ISK is 500);
 * - three-decimal currencies (BHD, JOD, KWD, OMR, TND) must end in 0 for Stripe.
 * https://docs.stripe.com/currencies#zero-decimal, #special-cases, #three-decimal
 */
const STRIPE_EXPONENT: Record<string, number> = { ISK: 2 };

const exponentOf = (currency: string) => STRIPE_EXPONENT[currency] ?? minorUnits(currency);

/** Our minor units → Stripe's amount. */
export function toStripeAmount(amount: number, currency: string): number {
  return amount * 10 ** (exponentOf(currency) - minorUnits(currency));
}

/** Stripe's amount → our minor units. */
export function fromStripeAmount(amount: number, currency: string): number {
  return Math.round(amount / 10 ** (exponentOf(currency) - minorUnits(currency)));
}

/**
 * Stripe's minimum charge per currency, in that currency's ISO minor units (Stripe's table is
 * about 0.50 USD; currencies not listed take the USD-like 50 minor units, which is Stripe's rule
 * for them: the charge must be worth at least 0.50 USD after conversion, checked by Stripe).
 * https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts
 */
const MINIMUM: Record<string, number> = {
  USD: 50, AED: 200, AUD: 50, BGN: 100, BRL: 50, CAD: 50, CHF: 50, CZK: 1500, DKK: 250, EUR: 50, GBP: 30, HKD: 400,
  HUF: 17500, INR: 50, JPY: 50, MXN: 1000, MYR: 200, NOK: 300, NZD: 50, PLN: 200, RON: 200, SEK: 300, SGD: 50, THB: 1000,
};

export function stripeMinimum(currency: string): number {
  return MINIMUM[currency] ?? 50 * 10 ** Math.max(0, minorUnits(currency) - 2);
}

/** Refuses, before anything is written, a charge Stripe would refuse for its amount. */
export function assertStripeChargeable(amount: number, currency: string): void {
  const minimum = stripeMinimum(currency);
  if (amount < minimum) {
    throw new AppError('amount_below_minimum', `Stripe charges at least ${formatMoney(minimum, currency)}`, { minimum, currency }, [
      { field: 'amount', message: `must be at least ${minimum} (${formatMoney(minimum, currency)}) to be charged through Stripe` },
    ]);
  }
  if (exponentOf(currency) === 3 && amount % 10 !== 0) {
    throw new AppError('validation_failed', `Stripe charges ${currency} in multiples of 10 minor units`, {}, [
      { field: 'amount', message: `must be a multiple of 10 to be charged in ${currency} through Stripe` },
    ]);
  }
}
