import type { UseCaseCtx } from './context.ts';
import { assertFilesUsable } from './files.ts';
import { enqueueJob } from './record.ts';
import { runMilestoneCommand } from './run-milestone-command.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * The contractor marks the milestone complete. Under a review period, the auto-approval and
 * its 48-hour warning are scheduled now; they are keyed by the submission number so that a
 * rejected-then-resubmitted milestone gets a fresh period and stale timers do nothing.
 */
export async function submitMilestone(ctx: UseCaseCtx, milestoneId: string, input: { note?: string; attachmentIds?: string[]; expectedVersion?: number }) {
  const files = input.attachmentIds ?? [];
  const result = await runMilestoneCommand(ctx, milestoneId, { type: 'submit' }, {
    event: 'milestone.submitted',
    expectedVersion: input.expectedVersion,
    data: { note: input.note ?? null, attachmentIds: files },
    columns: { submission_note: input.note ?? null, submission_files: files, submitted_at: ctx.now },
  });
  await assertFilesUsable(ctx, result.contract, files);
  const { contract, milestone } = result;
  const submission = milestone.submission_count + 1;
  await ctx.tx.query('UPDATE milestones SET submission_count = $2 WHERE id = $1', [milestone.id, submission]);
  milestone.submission_count = submission;
  const days = contract.policy.reviewPeriodDays;
  if (days !== null) {
    const dueAt = new Date(ctx.now.getTime() + days * DAY);
    const payload = { milestoneId: milestone.id, submission, dueAt: dueAt.toISOString() };
    const common = { platformId: contract.platform_id, contractId: contract.id, payload };
    const warnAt = new Date(dueAt.getTime() - 48 * HOUR);
    if (warnAt > ctx.now) await enqueueJob(ctx, { ...common, kind: 'auto_approve_warning', runAt: warnAt, dedupeKey: `auto-warn:${milestone.id}:${submission}` });
    await enqueueJob(ctx, { ...common, kind: 'auto_approve', runAt: dueAt, dedupeKey: `auto:${milestone.id}:${submission}` });
  }
  return result;
}
