import { createHash } from 'node:crypto';
import { PaymentDeclinedError, type PaymentProvider } from './provider.ts';

/**
 * Deterministic sandbox provider shipped with the product (and used by the tests):
 * `pm_card_ok` succeeds, `pm_card_declined` is declined at once, `pm_card_fails_later` is
 * accepted as pending and fails when settled. Stateless: the outcome is encoded in the charge
 * reference, so a restart or a second process answers the same (and a call repeated with the
 * same idempotency key is the same charge).
 */
export const SANDBOX_METHODS = ['pm_card_ok', 'pm_card_declined', 'pm_card_fails_later'] as const;

const ref = (prefix: string, key: string, suffix: string) =>
  `sbx_${prefix}_${createHash('sha256').update(key).digest('hex').slice(0, 24)}_${suffix}`;

export class SandboxProvider implements PaymentProvider {
  readonly name = 'sandbox';

  async charge(req: { amount: number; paymentMethod: string; idempotencyKey: string }) {
    switch (req.paymentMethod) {
      case 'pm_card_ok':
        return { status: 'succeeded' as const, reference: ref('ch', req.idempotencyKey, 'ok') };
      case 'pm_card_fails_later':
        return { status: 'pending' as const, reference: ref('ch', req.idempotencyKey, 'later') };
      case 'pm_card_declined':
        throw new PaymentDeclinedError('card_declined');
      default:
        throw new PaymentDeclinedError('unknown_payment_method');
    }
  }

  async refund(req: { idempotencyKey: string }) {
    return { reference: ref('re', req.idempotencyKey, 'ok') };
  }

  /** Pays out to the contractor's (imaginary) bank: always accepted, settled at once. */
  async payout(req: { idempotencyKey: string }) {
    return { status: 'succeeded' as const, reference: ref('po', req.idempotencyKey, 'ok') };
  }

  async settle(reference: string) {
    if (reference.endsWith('_later')) return 'failed' as const;
    return 'succeeded' as const;
  }

  isPaymentMethod(id: string): boolean {
    return (SANDBOX_METHODS as readonly string[]).includes(id);
  }
}
