/**
 * The payment provider port: what Tranche needs from a card network / PSP. The sandbox
 * implements it in-process; the Stripe Connect adapter (stripe.ts) implements the same calls
 * (charge ≈ PaymentIntent confirmed off-session, refund ≈ Refund, transfer ≈ Transfer to the
 * contractor's connected account, settle ≈ retrieving the PaymentIntent).
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
  /** Whose card (the client: a user or an organisation id); the provider finds its customer of them. */
  customer?: string;
};

export type ChargeResult = { status: 'succeeded' | 'pending'; reference: string };

export type RefundRequest = { chargeReference: string; amount: number; currency: string; idempotencyKey: string };

export type PayoutRequest = { amount: number; currency: string; idempotencyKey: string; contractorId: string; description: string };

/** Money released to a contractor sent to their connected account (Stripe: a Transfer). */
export type TransferRequest = {
  amount: number;
  currency: string;
  /** The contractor's connected account. */
  destination: string;
  idempotencyKey: string;
  description: string;
  /** The contract's group, as its charges have it. */
  group?: string;
  /** The charge the money came in with (its reference): the transfer waits for that charge's funds. */
  sourceCharge?: string;
};

/** Where a contractor's connected account stands. */
export type AccountStatus = { transfersEnabled: boolean; payoutsEnabled: boolean; detailsSubmitted: boolean };

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
  /**
   * Returns money of a settled charge to the client's payment method. `pending`: the provider
   * accepted it but has not made it yet (Stripe: some cards and banks); `settle` or its event
   * tells how it ended.
   */
  refund(req: RefundRequest): Promise<{ status: 'succeeded' | 'pending'; reference: string }>;
  /** Sends a contractor's money to their bank; PaymentDeclinedError when refused at once. */
  payout(req: PayoutRequest): Promise<{ status: 'succeeded' | 'pending'; reference: string }>;
  /** Final outcome of a charge, refund or payout that answered `pending`. */
  settle(reference: string): Promise<'succeeded' | 'failed' | 'pending'>;
  /** Whether a payment method id is one this provider accepts (shape check, no network call). */
  isPaymentMethod(id: string): boolean;
  /** What the provider did in a period, for reconciliation (reporting.ts); absent when it cannot tell. */
  listObjects?(period: Period): Promise<ProviderObject[]>;
  /** Refuses (AppError, before anything is written) an amount the provider would refuse to charge. */
  assertChargeable(amount: number, currency: string): void;
  /** The client's customer at the provider, created once (the key makes a retry the same customer). */
  ensureCustomer(req: { clientId: string; name: string; email?: string | null; idempotencyKey: string }): Promise<{ reference: string }>;
  /**
   * Attaches a payment method to the customer and makes it their default; answers the id to
   * charge from then on (Stripe makes a new one from a test token such as pm_card_visa).
   * A method the provider does not know is an AppError validation_failed.
   */
  attachPaymentMethod(req: { customer: string; paymentMethod: string }): Promise<{ paymentMethod: string }>;
  /**
   * Whether releases leave the platform as transfers to the contractor's connected account
   * (Stripe Connect); otherwise they stay in the contractor's balance until a payout.
   */
  readonly transfersReleases: boolean;
  /** A contractor's connected account, created once (the key makes a retry the same account). */
  createConnectedAccount(req: { contractorId: string; email?: string | null; idempotencyKey: string }): Promise<{ reference: string }>;
  /** Where the connected account stands (read from the provider). */
  accountStatus(account: string): Promise<AccountStatus>;
  /** A link where the contractor completes the account (Stripe: hosted onboarding). */
  onboardingLink(req: { account: string; returnUrl: string; refreshUrl: string }): Promise<{ url: string }>;
  /** Sends released money to a connected account; PaymentDeclinedError when refused. */
  transfer(req: TransferRequest): Promise<{ reference: string }>;
}
