/**
 * The payment provider port: what Tranche needs from a card network / PSP. The sandbox
 * implements it in-process; a Stripe Connect adapter would implement the same calls
 * (charge ≈ PaymentIntent, refund ≈ Refund, payout ≈ Transfer, settle ≈ webhook/retrieve).
 */
export type ChargeRequest = {
  amount: number;
  currency: string;
  paymentMethod: string;
  /** The provider de-duplicates on this: a retried call never charges twice. */
  idempotencyKey: string;
  description: string;
};

export type ChargeResult = { status: 'succeeded' | 'pending'; reference: string };

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
  refund(req: { chargeReference: string; amount: number; currency: string; idempotencyKey: string }): Promise<{ reference: string }>;
  /** Final outcome of a charge that answered `pending`. */
  settle(reference: string): Promise<'succeeded' | 'failed' | 'pending'>;
  /** Whether a payment method id is one this provider accepts (shape check, no network call). */
  isPaymentMethod(id: string): boolean;
}
