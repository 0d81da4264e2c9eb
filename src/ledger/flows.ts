import { Accounts } from './accounts.ts';
import type { Posting } from './postings.ts';

/** The parties and currency a money movement happens between. */
export type Parties = { contractId: string; clientId: string; contractorId: string };

/** Card charge into escrow: the client pays amount + client fee; the fee goes to the platform. */
export function fundingPostings(p: Parties, milestoneId: string, amount: number, clientFee: number): Posting[] {
  const funding = Accounts.clientFunding(p.clientId);
  return [
    { source: Accounts.world(), destination: funding, amount: amount + clientFee },
    { source: funding, destination: Accounts.escrow(p.contractId, milestoneId), amount },
    { source: funding, destination: Accounts.clientFees(), amount: clientFee },
  ];
}

/** Escrow released to the contractor, less the contractor-side fee. */
export function releasePostings(p: Parties, milestoneId: string, gross: number, contractorFee: number): Posting[] {
  const escrow = Accounts.escrow(p.contractId, milestoneId);
  return [
    { source: escrow, destination: Accounts.contractorBalance(p.contractorId), amount: gross - contractorFee },
    { source: escrow, destination: Accounts.contractorFees(), amount: contractorFee },
  ];
}

/** Escrow returned to the client's card, with the matching share of the client fee. */
export function refundPostings(p: Parties, milestoneId: string, amount: number, clientFeeBack: number): Posting[] {
  const funding = Accounts.clientFunding(p.clientId);
  return [
    { source: Accounts.escrow(p.contractId, milestoneId), destination: funding, amount },
    { source: Accounts.clientFees(), destination: funding, amount: clientFeeBack },
    { source: funding, destination: Accounts.world(), amount: amount + clientFeeBack },
  ];
}

/** A payment without escrow (draft paid by the client): charge, then straight to the contractor. */
export function directPaymentPostings(p: Parties, gross: number, clientFee: number, contractorFee: number): Posting[] {
  const funding = Accounts.clientFunding(p.clientId);
  return [
    { source: Accounts.world(), destination: funding, amount: gross + clientFee },
    { source: funding, destination: Accounts.contractorBalance(p.contractorId), amount: gross - contractorFee },
    { source: funding, destination: Accounts.contractorFees(), amount: contractorFee },
    { source: funding, destination: Accounts.clientFees(), amount: clientFee },
  ];
}

/**
 * What is left of one milestone's escrow moves to fund the next: `moved` goes escrow to escrow;
 * the client's card pays the `charged` difference (plus its fee, booked with the provider's answer)
 * when the rest falls short; the `excess` (with its share of the fee paid on it) goes to the
 * client's funding account when the rest is more, for a refund made after commit. One entry.
 */
export function escrowTransferPostings(
  p: Parties,
  from: string,
  to: string,
  m: { moved: number; charged: number; chargedFee: number; excess: number; excessFeeBack: number },
): Posting[] {
  const funding = Accounts.clientFunding(p.clientId);
  const source = Accounts.escrow(p.contractId, from);
  const target = Accounts.escrow(p.contractId, to);
  return [
    { source, destination: target, amount: m.moved },
    { source: Accounts.world(), destination: funding, amount: m.charged + m.chargedFee },
    { source: funding, destination: target, amount: m.charged },
    { source: funding, destination: Accounts.clientFees(), amount: m.chargedFee },
    // The excess waits in the client's funding account for the provider's refund (refundPaidPostings).
    { source, destination: funding, amount: m.excess },
    { source: Accounts.clientFees(), destination: funding, amount: m.excessFeeBack },
  ];
}

/**
 * An escrow refund, first half (in the command's transaction): the escrow and the matching share
 * of the client fee go back to the client's funding account, where they wait for the provider.
 */
export function refundToClientPostings(p: Parties, milestoneId: string, amount: number, clientFeeBack: number): Posting[] {
  const funding = Accounts.clientFunding(p.clientId);
  return [
    { source: Accounts.escrow(p.contractId, milestoneId), destination: funding, amount },
    { source: Accounts.clientFees(), destination: funding, amount: clientFeeBack },
  ];
}

/** Second half, with the provider's answer: the refund left for the client's card. */
export function refundPaidPostings(p: Pick<Parties, 'clientId'>, amount: number): Posting[] {
  return [{ source: Accounts.clientFunding(p.clientId), destination: Accounts.world(), amount }];
}

/**
 * A lost chargeback: the card network took `fromEscrow + feeBack + loss` back from the platform
 * for the client. What the milestone still held goes first (the client got it back), then the
 * client fee the charge paid, both through the client's funding account as a refund does; the
 * rest had already left (released to the contractor, a draft payment or invoice paid) and is the
 * platform's loss. One balanced entry.
 */
export function chargebackLostPostings(
  p: Pick<Parties, 'contractId' | 'clientId'>,
  milestoneId: string | null,
  m: { fromEscrow: number; feeBack: number; loss: number },
): Posting[] {
  const funding = Accounts.clientFunding(p.clientId);
  return [
    ...(milestoneId ? [{ source: Accounts.escrow(p.contractId, milestoneId), destination: funding, amount: m.fromEscrow }] : []),
    { source: Accounts.clientFees(), destination: funding, amount: m.feeBack },
    { source: funding, destination: Accounts.world(), amount: m.fromEscrow + m.feeBack },
    { source: Accounts.platformLosses(), destination: Accounts.world(), amount: m.loss },
  ];
}
