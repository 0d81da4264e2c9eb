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
