import type { Contract } from '../../api.ts';

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
