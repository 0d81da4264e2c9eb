import type { OperationRow } from './operations.ts';
import type { BookingCtx, ProviderAnswer } from './perform-operation.ts';

export async function bookPayout(_ctx: BookingCtx, _op: OperationRow, _answer: ProviderAnswer): Promise<{ entryReference?: string | null }> {
  throw new Error('payouts: not built yet');
}
