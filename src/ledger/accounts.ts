/**
 * Ledger account addresses. Only escrow accounts (one per milestone) keep a stored balance:
 * they belong to one contract and are only written under that contract's row lock. Shared
 * accounts are derived from postings so that no command ever locks a global row.
 */
export const Accounts = {
  /** The payment provider: money enters and leaves the system here. The only account that may go negative. */
  world: () => 'world',
  clientFunding: (clientId: string) => `clients:${clientId}:funding`,
  escrow: (contractId: string, milestoneId: string) => `contracts:${contractId}:escrow:${milestoneId}`,
  contractorBalance: (contractorId: string) => `contractors:${contractorId}:balance`,
  /** A contractor's payouts on their way to the bank (out of the balance, not yet at the provider's world). */
  contractorPayouts: (contractorId: string) => `contractors:${contractorId}:payouts`,
  clientFees: () => 'platform:fees:client',
  contractorFees: () => 'platform:fees:contractor',
  /**
   * What the platform lost to chargebacks it could not take from escrow or fees (the money had
   * already gone to the contractor). Its negative balance is the loss; it may go negative.
   */
  platformLosses: () => 'platform:losses',
} as const;

export type AccountKind = 'world' | 'client_funding' | 'escrow' | 'contractor_balance' | 'contractor_payouts' | 'platform_fees' | 'platform_losses';

export type AccountInfo = { kind: AccountKind; stored: boolean; allowNegative: boolean; contractId: string | null };

export function describeAccount(address: string): AccountInfo {
  if (address === 'world') return { kind: 'world', stored: false, allowNegative: true, contractId: null };
  if (address.startsWith('platform:fees:')) return { kind: 'platform_fees', stored: false, allowNegative: false, contractId: null };
  if (address === 'platform:losses') return { kind: 'platform_losses', stored: false, allowNegative: true, contractId: null };
  const escrow = /^contracts:([^:]+):escrow:[^:]+$/.exec(address);
  if (escrow) return { kind: 'escrow', stored: true, allowNegative: false, contractId: escrow[1]! };
  if (/^clients:[^:]+:funding$/.test(address)) return { kind: 'client_funding', stored: false, allowNegative: false, contractId: null };
  if (/^contractors:[^:]+:balance$/.test(address)) return { kind: 'contractor_balance', stored: false, allowNegative: false, contractId: null };
  if (/^contractors:[^:]+:payouts$/.test(address)) return { kind: 'contractor_payouts', stored: false, allowNegative: false, contractId: null };
  throw new Error(`unknown ledger address ${address}`);
}
