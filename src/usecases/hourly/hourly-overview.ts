import type { UseCaseCtx } from '../context.ts';
import { listTimeEntries } from './time-entries.ts';

/**
 * The hourly contract at a glance, for both parties: this week's hours against the limit and
 * their amount so far, what was invoiced and paid, what is past due, and the escrow held
 * (read from the ledger) that Wednesday's payments draw on first.
 */
export async function hourlyOverview(ctx: UseCaseCtx, contractId: string) {
  const { contract, weeks } = await listTimeEntries(ctx, contractId, {});
  const [sums] = await ctx.tx.query<{ invoiced: number; paid: number; past_due: number; open: number; in_escrow: number; requests: number }>(
    `SELECT
       (SELECT COALESCE(SUM(amount_due), 0)::bigint FROM invoices WHERE contract_id = $1 AND status <> 'void') AS invoiced,
       (SELECT COALESCE(SUM(paid_from_escrow + charged), 0)::bigint FROM invoices WHERE contract_id = $1) AS paid,
       (SELECT COALESCE(SUM(amount_due - paid_from_escrow - charged), 0)::bigint FROM invoices WHERE contract_id = $1 AND status = 'past_due') AS past_due,
       (SELECT COALESCE(SUM(amount_due - paid_from_escrow - charged), 0)::bigint FROM invoices WHERE contract_id = $1 AND status = 'open') AS open,
       (SELECT COALESCE(SUM(balance), 0)::bigint FROM ledger_accounts WHERE platform_id = $2 AND contract_id = $1 AND kind = 'escrow') AS in_escrow,
       (SELECT count(*)::int FROM milestone_requests WHERE contract_id = $1 AND status = 'open') AS requests`,
    [contract.id, contract.platform_id],
  );
  const s = sums!;
  return {
    contractId: contract.id,
    currency: contract.currency,
    thisWeek: weeks[0]!,
    invoiced: s.invoiced,
    paid: s.paid,
    open: s.open,
    pastDue: s.past_due,
    inEscrow: s.in_escrow,
    openRequests: s.requests,
  };
}
