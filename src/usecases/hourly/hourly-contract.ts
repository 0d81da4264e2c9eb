import type { Queryable } from '../../db/client.ts';
import type { ContractRow } from '../../db/repos/contracts.ts';
import { AppError, invalidState } from '../../domain/errors.ts';
import type { HourlyTerms, TermsChange } from '../../domain/hourly.ts';
import { loadContract, type ContractRole } from '../access.ts';
import type { UseCaseCtx } from '../context.ts';
import { loadPlatform } from '../platform-settings.ts';

/** What every hourly command starts with: the contract (locked when `lock`), the caller's role. */
export async function loadHourlyContract(ctx: UseCaseCtx, contractId: string, lock: boolean): Promise<{ contract: ContractRow; role: ContractRole }> {
  const found = await loadContract(ctx, contractId, lock);
  assertHourly(found.contract);
  return found;
}

export function assertHourly(contract: ContractRow): void {
  if (contract.type !== 'hourly') throw new AppError('not_hourly', 'this is a fixed-price contract: time entries, milestone requests and invoices are for hourly contracts');
}

export function assertActive(contract: ContractRow): void {
  if (contract.status !== 'active') throw invalidState('contract', contract.status, `the contract is ${contract.status}, not active`);
}

/** The platform's time zone: weeks run Monday 00:00 to Sunday 24:00 there. */
export async function platformTimeZone(q: Queryable, platformId: string): Promise<string> {
  return (await loadPlatform(q, platformId)).settings.timeZone;
}

export const initialTerms = (c: Pick<ContractRow, 'hourly_rate' | 'weekly_limit_hours'>): HourlyTerms => ({ hourlyRate: c.hourly_rate!, weeklyLimitHours: c.weekly_limit_hours });

/**
 * Agreed changes of a contract's rate and limit, each with the Monday it applies from, in the
 * order they were agreed: of two applying from the same Monday, the later agreed wins (termsForWeek).
 */
export async function termsChanges(q: Queryable, contractId: string): Promise<TermsChange[]> {
  return q.query<TermsChange>(
    `SELECT hourly_rate AS "hourlyRate", weekly_limit_hours AS "weeklyLimitHours", effective_from AS "effectiveFrom"
     FROM hourly_terms WHERE contract_id = $1 AND status = 'accepted' ORDER BY effective_from, answered_at, id`,
    [contractId],
  );
}
