import { AppError } from './errors.ts';
import { MAX_AMOUNT } from './money.ts';

/**
 * Caps that keep every sum the product computes exact (well inside Number.MAX_SAFE_INTEGER,
 * 2^53 ≈ 9.007 × 10^15) and every contract page a sensible size. A contract's total is at most
 * MAX_CONTRACT_TOTAL; a platform's overview of 10^2 such contracts still sums exactly.
 */
export const MAX_MILESTONES_PER_CONTRACT = 200;
export const MAX_CONTRACT_TOTAL = 10 * MAX_AMOUNT;

/** Refuses a contract whose live milestones would exceed the caps (422 limit_exceeded). */
export function assertContractLimits(count: number, total: number, field = 'milestones'): void {
  if (count > MAX_MILESTONES_PER_CONTRACT) {
    throw new AppError('limit_exceeded', `a contract holds at most ${MAX_MILESTONES_PER_CONTRACT} milestones`, { limit: MAX_MILESTONES_PER_CONTRACT, count }, [
      { field, message: `at most ${MAX_MILESTONES_PER_CONTRACT} milestones per contract` },
    ]);
  }
  if (total > MAX_CONTRACT_TOTAL) {
    throw new AppError('limit_exceeded', `a contract’s milestones total at most ${MAX_CONTRACT_TOTAL} minor units`, { limit: MAX_CONTRACT_TOTAL, total }, [
      { field, message: `the contract total may not exceed ${MAX_CONTRACT_TOTAL}` },
    ]);
  }
}
