/**
 * The payment provider port: what Tranche needs from a card network / PSP. The sandbox
 * implements it in-process; the Stripe Connect adapter implements the same calls (charge ≈
 * PaymentIntent confirmed off-session, refund ≈ Refund, payout ≈ Transfer + Stripe's payout,
 * settle ≈ retrieving the PaymentIntent).
 *
 * Nothing calls a provider inside a database transaction: every call is a row of
 * `provider_operations` first (src/usecases/payments/operations.ts), made after commit with the
 * row's idempotency key, so a retried call never moves money twice.
 */
import type { Period, ProviderObject } from './reporting.ts';

export type ChargeRequest = {
  amount: number;
  currency: string;
  paymentMethod: string;
  /** The provider de-duplicates on this: a retried call never charges twice. */
  idempotencyKey: string;
  description: string;
  /** Groups the charges and transfers of one contract (Stripe's transfer_group). */
  group?: string;
  /** Whose card (the client: a user or an organisation id). */
  customer?: string;
};

export type ChargeResult = { status: 'succeeded' | 'pending'; reference: string };

export type RefundRequest = { chargeReference: string; amount: number; currency: string; idempotencyKey: string };

export type PayoutRequest = { amount: number; currency: string; idempotencyKey: string; contractorId: string; description: string };

/** A charge or refund the provider refused for good (a decline): nothing moved. */
export class PaymentDeclinedError extends Error {
  constructor(readonly declineCode: string) {
    super(`payment declined: ${declineCode}`);
  }
}

export interface PaymentProvider {
  readonly name: string;
  /** Charges the client's payment method; throws PaymentDeclinedError when declined at once. */
  charge(req: ChargeRequest): Promise<ChargeResult>;
  /** Returns money of a settled charge to the client's payment method. */
  refund(req: RefundRequest): Promise<{ reference: string }>;
  /** Sends a contractor's money to their bank; PaymentDeclinedError when refused at once. */
  payout(req: PayoutRequest): Promise<{ status: 'succeeded' | 'pending'; reference: string }>;
  /** Final outcome of a charge or payout that answered `pending`. */
  settle(reference: string): Promise<'succeeded' | 'failed' | 'pending'>;
  /** Whether a payment method id is one this provider accepts (shape check, no network call). */
  isPaymentMethod(id: string): boolean;
  /** What the provider did in a period, for reconciliation (reporting.ts); absent when it cannot tell. */
  listObjects?(period: Period): Promise<ProviderObject[]>;
}
