import type { Statement } from '../db/client.ts';
import { saveMilestoneState, toState, type MilestoneRow } from '../db/repos/milestones.ts';
import type { ContractRow } from '../db/repos/contracts.ts';
import { approvalThresholdOf } from '../db/repos/organizations.ts';
import { AppError } from '../domain/errors.ts';
import { OPEN_FUNDED_STATUSES, transition, type MilestoneCommand } from '../domain/milestone-machine.ts';
import type { EventData, EventKind } from '../notify/templates.ts';
import { loadMilestone, type ContractRole } from './access.ts';
import type { UseCaseCtx } from './context.ts';
import { applyMoneyEffects, type EffectOptions } from './money.ts';
import { recordEvent } from './record.ts';

export type CommandOptions = EffectOptions & {
  event: EventKind;
  data?: EventData;
  expectedVersion?: number;
  columns?: Parameters<typeof saveMilestoneState>[4];
  /** Records the event as done by someone other than the caller (e.g. a charge the system makes). */
  eventActor?: 'system';
  /** For a fund command: countOtherOpenFunded, when the caller read it already (in a batch). */
  otherOpenFunded?: number;
};

export type CommandResult = { contract: ContractRow; milestone: MilestoneRow; before: MilestoneRow; role: ContractRole; paymentIds: string[] };

export async function countOtherOpenFunded(ctx: UseCaseCtx, contractId: string, milestoneId: string): Promise<number> {
  const [row] = await ctx.tx.query<{ n: number }>(...countOtherOpenFundedStatement(contractId, milestoneId));
  return row?.n ?? 0;
}

/** countOtherOpenFunded's statement, for a caller that reads it in a batch (then passes `otherOpenFunded`). */
export const countOtherOpenFundedStatement = (contractId: string, milestoneId: string): Statement => [
  'SELECT count(*)::int AS n FROM milestones WHERE contract_id = $1 AND id <> $2 AND status = ANY($3)',
  [contractId, milestoneId, OPEN_FUNDED_STATUSES],
];

/** Four eyes for the member acting, if the client organisation set an approval threshold in the contract's currency. */
async function fourEyesOf(ctx: UseCaseCtx, contract: ContractRow): Promise<{ threshold: number; memberId: string } | undefined> {
  const threshold = await approvalThresholdOf(ctx.tx, contract.client_id, contract.currency);
  return threshold !== null && ctx.principal.userId ? { threshold, memberId: ctx.principal.userId } : undefined;
}

export function assertVersion(row: { version: number }, expected: number | undefined): void {
  if (expected !== undefined && row.version !== expected) {
    throw new AppError('version_mismatch', `expected version ${expected}, the resource is at ${row.version}`, { version: row.version });
  }
}

/**
 * The shape every milestone command shares: lock the contract then the milestone, run the
 * pure transition for the caller's role, apply its money effects, save the new state and
 * record the activity — all in the caller's transaction.
 */
export async function runMilestoneCommand(ctx: UseCaseCtx, milestoneId: string, cmd: MilestoneCommand, opts: CommandOptions): Promise<CommandResult> {
  const { contract, milestone, role } = await loadMilestone(ctx, milestoneId, true);
  return applyMilestoneCommand(ctx, contract, milestone, role, cmd, opts, true);
}

/**
 * The transition a command would make, checked as applyMilestoneCommand checks it (four eyes
 * included) but applied to nothing: for a command whose money must first pass the provider.
 */
export async function previewMilestoneCommand(ctx: UseCaseCtx, contract: ContractRow, milestone: MilestoneRow, role: ContractRole | 'system', cmd: MilestoneCommand) {
  const fourEyes = (cmd.type === 'approve' || cmd.type === 'release') && role === 'client' ? await fourEyesOf(ctx, contract) : undefined;
  const t = transition(toState(milestone), cmd, { role }, contract.policy, { contractStatus: contract.status, currency: contract.currency, otherOpenFunded: 0, fourEyes });
  if (!t.ok) throw t.error;
  return t;
}

/** As runMilestoneCommand, for a contract and milestone already loaded and locked. */
export async function applyMilestoneCommand(
  ctx: UseCaseCtx,
  contract: ContractRow,
  milestone: MilestoneRow,
  role: ContractRole | 'system',
  cmd: MilestoneCommand,
  opts: CommandOptions,
  /**
   * `milestone` was just read under the lock and nothing but this command writes it: its saved row
   * is then known without reading it back (saveMilestoneState's write-behind).
   */
  fresh = false,
): Promise<CommandResult> {
  assertVersion(milestone, opts.expectedVersion);
  const otherOpenFunded = cmd.type === 'fund' ? (opts.otherOpenFunded ?? (await countOtherOpenFunded(ctx, contract.id, milestone.id))) : 0;
  const fourEyes = (cmd.type === 'approve' || cmd.type === 'release') && role === 'client' ? await fourEyesOf(ctx, contract) : undefined;
  const t = transition(toState(milestone), cmd, { role }, contract.policy, {
    contractStatus: contract.status,
    currency: contract.currency,
    otherOpenFunded,
    fourEyes,
  });
  if (!t.ok) throw t.error;
  if (t.next.status === 'approval_pending' && milestone.status !== 'approval_pending') {
    // A first approval under four eyes: nothing moves; the organisation's other members are told.
    const saved = await saveMilestoneState(ctx.tx, milestone.id, t.next, ctx.now, {}, fresh ? milestone : undefined);
    const held = milestone.funded_amount - milestone.released_amount - milestone.refunded_amount;
    await recordEvent(ctx, contract, {
      kind: 'milestone.approval_pending',
      actorRole: 'client',
      milestoneId: milestone.id,
      notify: ['client'],
      data: { title: milestone.title, amount: t.next.approval?.release ?? (held || milestone.amount), status: saved.status, action: cmd.type, threshold: fourEyes?.threshold },
    });
    return { contract, milestone: saved, before: milestone, role: 'client', paymentIds: [] };
  }
  const money = await applyMoneyEffects(ctx, contract, milestone, t.next, t.effects, opts);
  const saved = await saveMilestoneState(ctx.tx, milestone.id, money.state, ctx.now, { ...money.columns, ...opts.columns }, fresh ? milestone : undefined);
  const moved = t.effects.find((e) => 'amount' in e) as { amount: number } | undefined;
  await recordEvent(ctx, contract, {
    kind: opts.event,
    actorRole: opts.eventActor ?? (role === 'admin' ? 'admin' : role),
    milestoneId: milestone.id,
    data: { title: milestone.title, amount: moved?.amount ?? milestone.amount, status: saved.status, ...opts.data },
  });
  // Without escrow, approval creates a draft payment (the machine never combines it with a release).
  const draft = t.effects.find((e) => e.type === 'draft_payment');
  if (draft && money.paymentIds.length === 1) {
    await recordEvent(ctx, contract, {
      kind: 'payment.created',
      actorRole: opts.eventActor ?? (role === 'admin' ? 'admin' : role),
      milestoneId: milestone.id,
      data: { title: milestone.title, amount: draft.amount, paymentId: money.paymentIds[0], status: 'draft' },
    });
  }
  return { contract, milestone: saved, before: milestone, role: role === 'system' ? 'admin' : role, paymentIds: money.paymentIds };
}

