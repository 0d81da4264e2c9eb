import type { ContractRow } from '../../db/repos/contracts.ts';
import { refundPaidPostings } from '../../ledger/flows.ts';
import { postEntry } from '../../ledger/postings.ts';
import { recordEvent } from '../record.ts';
import type { OperationRow } from './operations.ts';
import type { BookingCtx, ProviderAnswer } from './perform-operation.ts';

/**
 * An escrow refund, second phase. The command already moved the money from escrow to the
 * client's funding account (money.ts); the provider's answer books it leaving for the card
 * (funding → world). A refund the provider accepted but has not made (Stripe's `pending`) books
 * nothing yet: the operation is `processing` until the worker's sweep retrieves the Refund or
 * its event (refund.updated / refund.failed) says how it ended. A refund the provider refuses —
 * at once or later — stays in the funding account, owed to the client: both parties are told,
 * and returning it another way is the operator's decision.
 */
export async function bookRefund(ctx: BookingCtx, op: OperationRow, answer: ProviderAnswer): Promise<{ entryReference?: string | null }> {
  if (answer.status === 'processing') return {};
  const contract = (await ctx.tx.query<ContractRow>('SELECT * FROM contracts WHERE id = $1', [op.contract_id]))[0]!;
  if (answer.status === 'failed') {
    await recordEvent(ctx, contract, {
      kind: 'milestone.refund_failed',
      actorRole: 'system',
      milestoneId: op.milestone_id,
      notify: ['client', 'contractor'],
      data: { amount: op.amount, reason: answer.code, operationId: op.id },
    });
    return {};
  }
  const reference = `refund_paid:${answer.reference}`;
  await postEntry(ctx.tx, {
    platformId: op.platform_id,
    contractId: contract.id,
    milestoneId: op.milestone_id,
    currency: op.currency,
    kind: 'refund_paid',
    reference,
    postings: refundPaidPostings({ clientId: contract.client_id }, op.amount),
    at: ctx.now,
  });
  return { entryReference: reference };
}
