import { createHash } from 'node:crypto';
import { PaymentDeclinedError, type PaymentProvider } from './provider.ts';
import type { Period, ProviderObject, SandboxStore } from './reporting.ts';

/**
 * Deterministic sandbox provider shipped with the product (and used by the tests):
 * `pm_card_ok` succeeds, `pm_card_declined` is declined at once, `pm_card_fails_later` is
 * accepted as pending and fails when settled. Stateless: the outcome is encoded in the charge
 * reference, so a restart or a second process answers the same (and a call repeated with the
 * same idempotency key is the same charge). What it did is also recorded, once per key, in its
 * own books (`keepRecords`, table sandbox_objects) for reconciliation to list.
 */
export const SANDBOX_METHODS = ['pm_card_ok', 'pm_card_declined', 'pm_card_fails_later'] as const;

const ref = (prefix: string, key: string, suffix: string) =>
  `sbx_${prefix}_${createHash('sha256').update(key).digest('hex').slice(0, 24)}_${suffix}`;

type Call = { amount: number; currency: string; idempotencyKey: string };

export class SandboxProvider implements PaymentProvider {
  readonly name = 'sandbox';
  private store: SandboxStore | null = null;

  /** Keeps a record of every call from now on (the server gives it its database and clock). */
  keepRecords(store: SandboxStore): void {
    this.store = store;
  }

  /** What the sandbox did in a period, from its records (reconciliation). */
  async listObjects(period: Period): Promise<ProviderObject[]> {
    return this.store ? this.store.list(period) : [];
  }

  async charge(req: Call & { paymentMethod: string }) {
    const answer = (status: 'succeeded' | 'pending' | 'failed', suffix: string) => {
      const reference = ref('ch', req.idempotencyKey, suffix);
      this.store?.record({ kind: 'charge', id: reference, idempotencyKey: req.idempotencyKey, amount: req.amount, currency: req.currency, status });
      return reference;
    };
    switch (req.paymentMethod) {
      case 'pm_card_ok':
        return { status: 'succeeded' as const, reference: answer('succeeded', 'ok') };
      case 'pm_card_fails_later':
        return { status: 'pending' as const, reference: answer('pending', 'later') };
      case 'pm_card_declined':
        answer('failed', 'declined');
        throw new PaymentDeclinedError('card_declined');
      default:
        throw new PaymentDeclinedError('unknown_payment_method');
    }
  }

  async refund(req: Call & { chargeReference: string }) {
    const reference = ref('re', req.idempotencyKey, 'ok');
    this.store?.record({ kind: 'refund', id: reference, idempotencyKey: req.idempotencyKey, amount: req.amount, currency: req.currency, status: 'succeeded', chargeReference: req.chargeReference });
    return { status: 'succeeded' as const, reference };
  }

  /** Pays out to the contractor's (imaginary) bank: always accepted, settled at once. */
  async payout(req: Call) {
    const reference = ref('po', req.idempotencyKey, 'ok');
    this.store?.record({ kind: 'payout', id: reference, idempotencyKey: req.idempotencyKey, amount: req.amount, currency: req.currency, status: 'succeeded' });
    return { status: 'succeeded' as const, reference };
  }

  async settle(reference: string) {
    const outcome = reference.endsWith('_later') ? ('failed' as const) : ('succeeded' as const);
    this.store?.settled(reference, outcome);
    return outcome;
  }

  isPaymentMethod(id: string): boolean {
    return (SANDBOX_METHODS as readonly string[]).includes(id);
  }

  /** No minimum: the sandbox charges any amount. */
  assertChargeable(): void {}

  async ensureCustomer(req: { idempotencyKey: string }) {
    return { reference: ref('cus', req.idempotencyKey, 'ok') };
  }

  /** The sandbox's methods are the same for every customer: nothing to attach. */
  async attachPaymentMethod(req: { paymentMethod: string }) {
    return { paymentMethod: req.paymentMethod };
  }

  /** Releases stay in the contractor's balance; payouts send them to the (imaginary) bank. */
  readonly transfersReleases = false;

  async createConnectedAccount(req: { idempotencyKey: string }) {
    return { reference: ref('acct', req.idempotencyKey, 'ok') };
  }

  /** A sandbox account needs no onboarding: it can receive money at once. */
  async accountStatus() {
    return { transfersEnabled: true, payoutsEnabled: true, detailsSubmitted: true };
  }

  /** Nothing to fill in: the link leads straight back. */
  async onboardingLink(req: { returnUrl: string }) {
    return { url: req.returnUrl };
  }

  async transfer(req: Call) {
    const reference = ref('tr', req.idempotencyKey, 'ok');
    this.store?.record({ kind: 'transfer', id: reference, idempotencyKey: req.idempotencyKey, amount: req.amount, currency: req.currency, status: 'succeeded' });
    return { reference };
  }
}
