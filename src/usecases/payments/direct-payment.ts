import type { ContractRow } from '../../db/repos/contracts.ts';
import { completePayment, type PaymentRow } from '../pay-payments.ts';
import { recordEvent } from '../record.ts';
import type { OperationRow } from './operations.ts';
import type { BookingCtx, ProviderAnswer } from './perform-operation.ts';

/**
 * A draft payment's card charge, second phase: accepted at once, the payment is paid (its
 * direct_payment entry); accepted to settle later, it stays processing with the provider's
 * reference; declined at once, it is as it was (the caller, if waiting, answers 402; otherwise
 * both parties are told); failed after processing, it is `failed` and may be paid again.
 */
export async function bookDirectPayment(ctx: BookingCtx, op: OperationRow, answer: ProviderAnswer): Promise<{ entryReference?: string | null }> {
  const contract = (await ctx.tx.query<ContractRow>('SELECT * FROM contracts WHERE id = $1', [op.contract_id]))[0]!;
  const [p] = await ctx.tx.query<PaymentRow>('SELECT * FROM payments WHERE id = $1 FOR UPDATE', [op.subject_id]);
  if (!p) return {};
  const clientFee = Number(op.details.clientFee ?? 0);
  if (answer.status === 'succeeded') {
    await completePayment(ctx, contract, p, answer.reference, clientFee);
    return { entryReference: `charge:${answer.reference}` };
  }
  if (answer.status === 'processing') {
    await ctx.tx.query('UPDATE payments SET provider_ref = $2, version = version + 1, updated_at = $3 WHERE id = $1', [p.id, answer.reference, ctx.now]);
    return {};
  }
  if (op.status === 'pending') {
    await ctx.tx.query('UPDATE payments SET status = $2 WHERE id = $1', [p.id, String(op.details.previousStatus ?? 'draft')]);
    if (ctx.told) return {};
  } else {
    await ctx.tx.query("UPDATE payments SET status = 'failed', version = version + 1, updated_at = $2 WHERE id = $1", [p.id, ctx.now]);
  }
  await recordEvent(ctx, contract, {
    kind: 'milestone.funding_failed',
    actorRole: 'system',
    milestoneId: p.milestone_id,
    notify: ['client', 'contractor'],
    data: { paymentId: p.id, amount: p.amount, reason: op.status === 'pending' ? 'payment_declined' : 'card charge failed' },
  });
  return {};
}
