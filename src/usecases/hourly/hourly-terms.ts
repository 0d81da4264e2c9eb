import { findContract } from '../../db/repos/contracts.ts';
import { AppError, forbidden, invalidState, notFound } from '../../domain/errors.ts';
import { addDays, localDate, termsForWeek, weekStart } from '../../domain/hourly.ts';
import { newId } from '../../domain/ids.ts';
import { partyRole, requireParty } from '../access.ts';
import type { UseCaseCtx } from '../context.ts';
import { recordEvent } from '../record.ts';
import { assertActive, initialTerms, loadHourlyContract, platformTimeZone, termsChanges } from './hourly-contract.ts';

export type HourlyTermsRow = {
  id: string;
  platform_id: string;
  contract_id: string;
  proposed_by: 'client' | 'contractor';
  status: 'proposed' | 'accepted' | 'declined' | 'withdrawn';
  hourly_rate: number;
  weekly_limit_hours: number | null;
  effective_from: string | null;
  version: number;
  answered_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

/** Agreed terms bill from the Monday after they were agreed: a week is billed at one rate. */
async function nextMonday(ctx: UseCaseCtx, platformId: string) {
  return addDays(weekStart(localDate(ctx.now, await platformTimeZone(ctx.tx, platformId))), 7);
}

/**
 * A party changes the hourly rate and/or the weekly limit (null: no limit). The policy's change
 * rules decide as for milestones: a party whose changes need acceptance proposes, the other
 * party accepts or declines; otherwise the change is agreed at once. Either way it applies
 * from the next Monday.
 */
export async function changeHourlyTerms(ctx: UseCaseCtx, contractId: string, input: { hourlyRate?: number; weeklyLimitHours?: number | null }): Promise<HourlyTermsRow> {
  const { contract, role } = await loadHourlyContract(ctx, contractId, true);
  const party = requireParty(role);
  assertActive(contract);
  if (input.hourlyRate === undefined && input.weeklyLimitHours === undefined) {
    throw new AppError('validation_failed', 'change hourlyRate, weeklyLimitHours or both', {}, [{ field: 'hourlyRate', message: 'hourlyRate or weeklyLimitHours is required' }]);
  }
  const [open] = await ctx.tx.query<{ id: string }>("SELECT id FROM hourly_terms WHERE contract_id = $1 AND status = 'proposed'", [contract.id]);
  if (open) throw new AppError('change_request_open', 'answer the proposed terms before proposing others', { hourlyTermsId: open.id });
  const from = await nextMonday(ctx, contract.platform_id);
  const current = termsForWeek(initialTerms(contract), await termsChanges(ctx.tx, contract.id), from);
  const next = { hourlyRate: input.hourlyRate ?? current.hourlyRate, weeklyLimitHours: input.weeklyLimitHours === undefined ? current.weeklyLimitHours : input.weeklyLimitHours };
  const agreed = !contract.policy.changesNeedAcceptance[party];
  const [row] = await ctx.tx.query<HourlyTermsRow>(
    `INSERT INTO hourly_terms (id, platform_id, contract_id, proposed_by, status, hourly_rate, weekly_limit_hours, effective_from, answered_at, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$10) RETURNING *`,
    [newId('hourlyTerms'), contract.platform_id, contract.id, party, agreed ? 'accepted' : 'proposed', next.hourlyRate, next.weeklyLimitHours, agreed ? from : null, agreed ? ctx.now : null, ctx.now],
  );
  await recordEvent(ctx, contract, {
    kind: agreed ? 'hourly_terms.accepted' : 'hourly_terms.proposed',
    actorRole: party,
    data: { hourlyTermsId: row!.id, amount: next.hourlyRate, weeklyLimitHours: next.weeklyLimitHours, effectiveFrom: agreed ? from : null },
  });
  return row!;
}

/** The other party accepts or declines proposed terms; their proposer may withdraw them. */
export async function answerHourlyTerms(ctx: UseCaseCtx, id: string, answer: 'accept' | 'decline' | 'withdraw'): Promise<HourlyTermsRow> {
  const [peek] = await ctx.tx.query<HourlyTermsRow>('SELECT * FROM hourly_terms WHERE platform_id = $1 AND id = $2', [ctx.principal.platformId, id]);
  if (!peek) throw notFound('hourly terms');
  const contract = (await findContract(ctx.tx, ctx.principal.platformId, peek.contract_id, true))!;
  const role = partyRole(ctx, contract, 'hourly terms');
  const party = requireParty(role);
  const [terms] = await ctx.tx.query<HourlyTermsRow>('SELECT * FROM hourly_terms WHERE id = $1 FOR UPDATE', [id]);
  if ((answer === 'withdraw') !== (party === terms!.proposed_by)) throw forbidden(answer === 'withdraw' ? 'only the proposer withdraws' : 'the other party answers proposed terms');
  if (terms!.status !== 'proposed') throw invalidState('hourly terms', terms!.status);
  const status = { accept: 'accepted', decline: 'declined', withdraw: 'withdrawn' }[answer];
  const from = answer === 'accept' ? await nextMonday(ctx, contract.platform_id) : null;
  const [row] = await ctx.tx.query<HourlyTermsRow>(
    'UPDATE hourly_terms SET status = $2, effective_from = $3, answered_at = $4, updated_at = $4, version = version + 1 WHERE id = $1 RETURNING *',
    [id, status, from, ctx.now],
  );
  if (answer !== 'withdraw') {
    await recordEvent(ctx, contract, {
      kind: answer === 'accept' ? 'hourly_terms.accepted' : 'hourly_terms.declined',
      actorRole: party,
      data: { hourlyTermsId: id, amount: row!.hourly_rate, weeklyLimitHours: row!.weekly_limit_hours, effectiveFrom: from },
    });
  }
  return row!;
}

export async function listHourlyTerms(ctx: UseCaseCtx, contractId: string): Promise<HourlyTermsRow[]> {
  const { contract } = await loadHourlyContract(ctx, contractId, false);
  return ctx.tx.query<HourlyTermsRow>('SELECT * FROM hourly_terms WHERE contract_id = $1 ORDER BY id DESC', [contract.id]);
}
