/**
 * How a lost chargeback of `amount` is booked (see usecases/payments/chargebacks.ts): what the
 * milestone still holds in escrow goes first (the client has it back through the bank, so the
 * milestone is refunded by it), then the client fee the charge paid, and the rest — money that
 * had already left escrow for the contractor — is the platform's loss. Never more than `amount`.
 */
export function chargebackSplit(x: { amount: number; held: number; feeAvailable: number }): { fromEscrow: number; feeBack: number; loss: number } {
  const fromEscrow = Math.min(Math.max(0, x.held), x.amount);
  const feeBack = Math.min(Math.max(0, x.feeAvailable), x.amount - fromEscrow);
  return { fromEscrow, feeBack, loss: x.amount - fromEscrow - feeBack };
}
