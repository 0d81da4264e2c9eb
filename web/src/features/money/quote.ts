import type { Contract } from '../../api.ts';
import { ok, tranche } from '../../app/client.ts';

/**
 * What a money step will cost and pay, computed as the server does (src/domain/money.ts): a fee
 * is basis points of the amount rounded down; a release's contractor fee is taken on everything
 * the milestone released so far, so any split of a milestone costs the same fee as one approval.
 */
export const feeOf = (amount: number, bps: number) => Number((BigInt(amount) * BigInt(bps)) / 10_000n);

/** Funding (or paying a draft): the client is charged the amount plus the client-side fee. */
export function chargeQuote(contract: Contract, amount: number) {
  const fee = feeOf(amount, contract.policy.platformFee.clientBps);
  return { amount, fee, total: amount + fee };
}

/** Releasing `amount` of a milestone that already released `releasedBefore`: the contractor's fee and net. */
export function releaseQuote(contract: Contract, releasedBefore: number, amount: number) {
  const bps = contract.policy.platformFee.contractorBps;
  const fee = Math.max(0, feeOf(releasedBefore + amount, bps) - feeOf(releasedBefore, bps));
  return { amount, fee, net: amount - fee };
}

/**
 * The card a charge will use: the client's saved one, read now (it may have changed in another
 * tab or on the Account page since the session began).
 */
export async function savedCard(fallback: string | null): Promise<string | null> {
  try {
    return (await ok(tranche.GET('/v1/me'))).user?.defaultPaymentMethod ?? null;
  } catch {
    return fallback;
  }
}

/**
 * The card lines of a confirmation: the person's saved card, or — when the client is a company
 * whose members act for it — the company's card, which the company's finance members choose.
 */
export async function cardLines(contract: Contract, fallback: string | null): Promise<{ card?: string | null; details: { label: string; value: string }[] }> {
  if (contract.client?.kind === 'organization') return { details: [{ label: 'Card', value: `${contract.client.name}’s saved card` }] };
  return { card: await savedCard(fallback), details: [] };
}
