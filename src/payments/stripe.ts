import Stripe from 'stripe';
import { AppError } from '../domain/errors.ts';
import { PaymentDeclinedError, type AccountStatus, type ChargeRequest, type ChargeResult, type PaymentProvider, type RefundRequest, type TransferRequest } from './provider.ts';
import { assertStripeChargeable, toStripeAmount } from './stripe-amounts.ts';
import { listStripeObjects, type Period, type ProviderObject } from './reporting.ts';

export type StripeSettings = { secretKey: string; apiBase?: string | undefined };

/** The SDK pointed at Stripe, or at another base URL (`STRIPE_API_BASE`: the tests' Stripe-compatible server). */
export function stripeClient(s: StripeSettings): Stripe {
  const base = s.apiBase ? new URL(s.apiBase) : null;
  return new Stripe(s.secretKey, {
    appInfo: { name: 'Tranche' },
    // Network errors and 5xx are retried by the SDK with the same idempotency key.
    maxNetworkRetries: 2,
    timeout: 20_000,
    ...(base
      ? { host: base.hostname, port: base.port || (base.protocol === 'http:' ? 80 : 443), protocol: base.protocol === 'http:' ? ('http' as const) : ('https' as const) }
      : {}),
  });
}

/**
 * Stripe Connect, "separate charges and transfers": the platform charges the client's card
 * (a PaymentIntent confirmed off-session, on the client's Customer, with the contract as its
 * `transfer_group`), keeps its fees, and sends what is released to the contractor's Express
 * account as a Transfer. Every call carries the provider operation's idempotency key, so a
 * retried call is the same PaymentIntent, Refund or Transfer.
 *
 * A refusal that is final (a card decline, a request Stripe will always refuse) is a
 * PaymentDeclinedError; anything else (network, 5xx, rate limits, a bad key) is thrown as is:
 * the operation has no answer and is retried with the same key.
 */
export class StripeProvider implements PaymentProvider {
  readonly name = 'stripe';
  readonly transfersReleases = true;
  readonly stripe: Stripe;

  /** The Stripe customer of a client (a user or organisation id), from our records (customers.ts). */
  private customerOf: (clientId: string) => Promise<string | null> = async () => null;

  constructor(settings: StripeSettings) {
    this.stripe = stripeClient(settings);
  }

  /** Given by the server once the database is open. */
  findCustomersWith(lookup: (clientId: string) => Promise<string | null>): void {
    this.customerOf = lookup;
  }

  async charge(req: ChargeRequest): Promise<ChargeResult> {
    // A method saved by the client is attached to their customer and is charged on it; one named
    // for this charge only (a test token, say) may be charged without one.
    const customer = req.customer ? await this.customerOf(req.customer) : null;
    const pi = await declines(() =>
      this.stripe.paymentIntents.create(
        {
          amount: toStripeAmount(req.amount, req.currency),
          currency: req.currency.toLowerCase(),
          payment_method: req.paymentMethod,
          // Confirmed off-session: no method that would redirect the client (no return_url needed).
          automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
          confirm: true,
          off_session: true,
          description: req.description,
          metadata: { tranche_operation_key: req.idempotencyKey },
          ...(customer ? { customer } : {}),
          ...(req.group ? { transfer_group: req.group } : {}),
        },
        { idempotencyKey: req.idempotencyKey },
      ),
    );
    switch (pi.status) {
      case 'succeeded':
        return { status: 'succeeded', reference: pi.id };
      case 'processing':
        return { status: 'pending', reference: pi.id };
      default:
        // Off-session, a card that needs the client (3-D Secure) or a method Stripe refused.
        throw new PaymentDeclinedError(pi.last_payment_error?.decline_code ?? pi.last_payment_error?.code ?? (pi.status === 'requires_action' ? 'authentication_required' : pi.status));
    }
  }

  async refund(req: RefundRequest): Promise<{ status: 'succeeded' | 'pending'; reference: string }> {
    const r = await declines(() =>
      this.stripe.refunds.create(
        { payment_intent: req.chargeReference, amount: toStripeAmount(req.amount, req.currency), metadata: { tranche_operation_key: req.idempotencyKey } },
        { idempotencyKey: req.idempotencyKey },
      ),
    );
    const outcome = refundOutcome(r);
    if (outcome === 'failed') throw new PaymentDeclinedError(r.failure_reason ?? r.status ?? 'refund_failed');
    return { status: outcome, reference: r.id };
  }

  /** With Connect, Stripe pays the connected account out to the contractor's bank itself. */
  async payout(): Promise<never> {
    throw new PaymentDeclinedError('payouts_made_by_stripe');
  }

  async settle(reference: string): Promise<'succeeded' | 'failed' | 'pending'> {
    if (reference.startsWith('re_')) return refundOutcome(await this.stripe.refunds.retrieve(reference));
    if (!reference.startsWith('pi_')) return 'succeeded';
    const pi = await this.stripe.paymentIntents.retrieve(reference);
    if (pi.status === 'succeeded') return 'succeeded';
    if (pi.status === 'processing') return 'pending';
    return 'failed';
  }

  isPaymentMethod(id: string): boolean {
    return /^pm_[A-Za-z0-9_]{1,60}$/.test(id);
  }

  /** What Stripe did in a period, for reconciliation (reporting.ts). */
  listObjects(period: Period): Promise<ProviderObject[]> {
    return listStripeObjects(this.stripe, period);
  }

  assertChargeable(amount: number, currency: string): void {
    assertStripeChargeable(amount, currency);
  }

  async ensureCustomer(req: { clientId: string; name: string; email?: string | null; idempotencyKey: string }) {
    const c = await this.stripe.customers.create(
      { name: req.name, ...(req.email ? { email: req.email } : {}), metadata: { tranche_client: req.clientId } },
      { idempotencyKey: req.idempotencyKey },
    );
    return { reference: c.id };
  }

  async attachPaymentMethod(req: { customer: string; paymentMethod: string }) {
    try {
      const pm = await this.stripe.paymentMethods.attach(req.paymentMethod, { customer: req.customer });
      await this.stripe.customers.update(req.customer, { invoice_settings: { default_payment_method: pm.id } });
      return { paymentMethod: pm.id };
    } catch (e) {
      if (e instanceof Stripe.errors.StripeCardError) throw new AppError('payment_declined', e.message, { declineCode: e.decline_code ?? e.code ?? 'card_declined' });
      if (e instanceof Stripe.errors.StripeInvalidRequestError) {
        throw new AppError('validation_failed', 'unknown payment method', {}, [{ field: 'paymentMethod', message: `Stripe refused it: ${e.message}` }]);
      }
      throw e;
    }
  }

  async createConnectedAccount(req: { contractorId: string; email?: string | null; idempotencyKey: string }) {
    const a = await this.stripe.accounts.create(
      { type: 'express', ...(req.email ? { email: req.email } : {}), capabilities: { transfers: { requested: true } }, metadata: { tranche_contractor: req.contractorId } },
      { idempotencyKey: req.idempotencyKey },
    );
    return { reference: a.id };
  }

  async accountStatus(account: string): Promise<AccountStatus> {
    return accountStatusOf(await this.stripe.accounts.retrieve(account));
  }

  async onboardingLink(req: { account: string; returnUrl: string; refreshUrl: string }) {
    const link = await this.stripe.accountLinks.create({ account: req.account, type: 'account_onboarding', return_url: req.returnUrl, refresh_url: req.refreshUrl });
    return { url: link.url };
  }

  async transfer(req: TransferRequest): Promise<{ reference: string }> {
    // Tied to the charge the money came in with, the transfer needs no available platform
    // balance: Stripe makes it at once and it becomes available when the charge's funds do.
    let source: string | undefined;
    if (req.sourceCharge?.startsWith('pi_')) {
      const pi = await this.stripe.paymentIntents.retrieve(req.sourceCharge);
      source = typeof pi.latest_charge === 'string' ? pi.latest_charge : pi.latest_charge?.id;
    }
    const t = await declines(() =>
      this.stripe.transfers.create(
        {
          amount: toStripeAmount(req.amount, req.currency),
          currency: req.currency.toLowerCase(),
          destination: req.destination,
          description: req.description,
          metadata: { tranche_operation_key: req.idempotencyKey },
          ...(req.group ? { transfer_group: req.group } : {}),
          ...(source ? { source_transaction: source } : {}),
        },
        { idempotencyKey: req.idempotencyKey },
      ),
    );
    return { reference: t.id };
  }
}

/** An account can receive transfers once Stripe made its `transfers` capability active. */
export function accountStatusOf(a: Pick<Stripe.Account, 'capabilities' | 'payouts_enabled' | 'details_submitted'>): AccountStatus {
  return { transfersEnabled: a.capabilities?.transfers === 'active', payoutsEnabled: a.payouts_enabled === true, detailsSubmitted: a.details_submitted === true };
}

/**
 * Where a Refund stands: `pending` (and `requires_action`, waiting for the customer's details) is
 * not made yet; `failed` or `canceled` returned nothing to the card.
 */
export function refundOutcome(r: Pick<Stripe.Refund, 'status'>): 'succeeded' | 'failed' | 'pending' {
  return r.status === 'succeeded' ? 'succeeded' : r.status === 'failed' || r.status === 'canceled' ? 'failed' : 'pending';
}

/** Final refusals become PaymentDeclinedError; anything else (no answer) is thrown as is and retried. */
async function declines<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (e instanceof Stripe.errors.StripeCardError) throw new PaymentDeclinedError(e.decline_code ?? e.code ?? 'card_declined');
    // Stripe answers the same to the same key for 24 hours: an invalid request is final.
    if (e instanceof Stripe.errors.StripeInvalidRequestError) throw new PaymentDeclinedError(e.code ?? 'invalid_request');
    throw e;
  }
}
