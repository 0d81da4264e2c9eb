import { findUserByEmail } from '../db/repos/users.ts';
import { AppError, type FieldError } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { isOrganizationId } from '../domain/organizations.ts';
import { initialStatus } from '../domain/milestone-machine.ts';
import { assertContractLimits } from '../domain/limits.ts';
import { isCurrency } from '../domain/money.ts';
import { mayCreateMilestones, resolvePolicy, type PolicyInput, type Role } from '../domain/policy.ts';
import type { ContractRow } from '../db/repos/contracts.ts';
import type { NewMilestone } from './add-milestone.ts';
import { requireOrgRole } from './access.ts';
import type { UseCaseCtx } from './context.ts';
import { assertFilesUsable } from './files.ts';
import { assertDueDates } from './milestone-input.ts';
import { assertExternalIdFree, assertMayWriteOperatorFields, type OperatorFields } from './operator-fields.ts';
import { platformFromRows, platformStatement } from './platform-settings.ts';
import { recordEvent } from './record.ts';

export type NewContract = {
  title: string;
  description?: string | null;
  /** One side may be left out when `counterpartyEmail` names that party. */
  clientId?: string;
  contractorId?: string;
  counterpartyEmail?: string;
  type: 'fixed' | 'hourly';
  currency: string;
  policy?: PolicyInput;
  milestones?: NewMilestone[];
  externalId?: string;
  metadata?: OperatorFields['metadata'];
  /** Hourly contracts: minor units per hour, and an optional weekly limit of hours. */
  hourlyRate?: number;
  weeklyLimitHours?: number;
};

/**
 * Both parties as ids: the side left out is the user `counterpartyEmail` names (the web app
 * knows people by email). 422 naming the field when the sides are not given exactly once.
 */
async function withCounterparty(ctx: UseCaseCtx, input: NewContract): Promise<NewContract & { clientId: string; contractorId: string }> {
  const { clientId, contractorId, counterpartyEmail } = input;
  if (counterpartyEmail === undefined) {
    if (clientId === undefined || contractorId === undefined) {
      const field = clientId === undefined ? 'clientId' : 'contractorId';
      throw new AppError('validation_failed', `${field} is required (or name the other party with counterpartyEmail)`, {}, [{ field, message: 'is required' }]);
    }
    return { ...input, clientId, contractorId };
  }
  if ((clientId === undefined) === (contractorId === undefined)) {
    throw new AppError('validation_failed', 'with counterpartyEmail, give exactly one of clientId and contractorId (your own side)', {}, [
      { field: 'counterpartyEmail', message: 'names the other party: give exactly one of clientId and contractorId' },
    ]);
  }
  const other = await findUserByEmail(ctx.tx, ctx.principal.platformId, counterpartyEmail);
  if (!other) throw new AppError('validation_failed', 'no user of this platform has this email', {}, [{ field: 'counterpartyEmail', message: 'is not the email of a user of this platform' }]);
  return clientId === undefined ? { ...input, clientId: other.id, contractorId: contractorId! } : { ...input, clientId, contractorId: other.id };
}

/**
 * A party proposes a contract to the other, optionally with its first milestones. The
 * contract starts as a `proposal`; the other party makes it live with activate, accepting its
 * terms (the policy, with the platform's fees and minimums copied in) and its milestones.
 */
export async function createContract(ctx: UseCaseCtx, given: NewContract) {
  const { tx, principal, now } = ctx;
  if (!principal.userId) throw new AppError('forbidden', 'a contract is created by one of its parties: use the Acting-User header');
  const input = await withCounterparty(ctx, given);
  // The client may be an organisation: a member proposes for it, within their roles.
  const org = isOrganizationId(input.clientId);
  const memberRoles = org ? principal.orgs?.[input.clientId] : undefined;
  const role: Role | null = principal.userId === input.clientId || memberRoles ? 'client' : principal.userId === input.contractorId ? 'contractor' : null;
  const errors: FieldError[] = [];
  if (input.clientId === input.contractorId) errors.push({ field: 'contractorId', message: 'must differ from clientId' });
  if (!isCurrency(input.currency)) errors.push({ field: 'currency', message: 'is not an ISO 4217 currency' });
  if (input.type === 'hourly') {
    if (input.hourlyRate === undefined) errors.push({ field: 'hourlyRate', message: 'is required for an hourly contract' });
  } else {
    if (input.hourlyRate !== undefined) errors.push({ field: 'hourlyRate', message: 'is only for hourly contracts' });
    if (input.weeklyLimitHours !== undefined) errors.push({ field: 'weeklyLimitHours', message: 'is only for hourly contracts' });
  }
  // The parties and the platform's settings are read together (one round trip).
  const partyExists = (table: 'users' | 'organizations', id: string) => [`SELECT 1 FROM ${table} WHERE platform_id = $1 AND id = $2`, [principal.platformId, id]] as const;
  const [clientFound, contractorFound, platformRows] = await tx.batch([
    partyExists(org ? 'organizations' : 'users', input.clientId),
    partyExists('users', input.contractorId),
    platformStatement(principal.platformId),
  ]);
  if (!clientFound!.length) errors.push(org ? { field: 'clientId', message: 'is not an organisation of this platform' } : { field: 'clientId', message: 'is not a user of this platform' });
  if (!contractorFound!.length) errors.push({ field: 'contractorId', message: 'is not a user of this platform' });
  if (errors.length) throw new AppError('validation_failed', 'the contract is not valid', {}, errors);
  if (org && !memberRoles) throw new AppError('forbidden', 'you are not a member of this organisation', {}, [{ field: 'clientId', message: 'you are not a member of this organisation' }]);
  if (!role) throw new AppError('forbidden', 'you must be the client or the contractor of a contract you create');
  if (memberRoles) requireOrgRole(memberRoles, 'manager');
  const platform = platformFromRows(platformRows!);
  // Hourly contracts default to the preset made for them (seed 003), not the platform's default.
  const policy = resolvePolicy(input.policy ?? (input.type === 'hourly' ? 'hourly_requests' : undefined), platform.settings);
  const milestones = input.milestones ?? [];
  assertContractLimits(milestones.length, milestones.reduce((a, m) => a + m.amount, 0));
  if (milestones.length && !mayCreateMilestones(policy, role)) {
    throw new AppError('forbidden', `under this policy only the ${policy.milestoneCreators} adds milestones`);
  }
  assertDueDates(milestones.map((m, i) => ({ dueDate: m.dueDate, field: `milestones[${i}].dueDate` })), now);
  assertMayWriteOperatorFields(principal, input, 'externalId');
  await assertExternalIdFree(tx, 'contract', principal.platformId, input.externalId);
  const milestoneIds = milestones.map((m) => m.externalId).filter((x): x is string => x !== undefined);
  if (new Set(milestoneIds).size !== milestoneIds.length) throw new AppError('external_id_taken', 'two milestones have the same externalId', {}, [{ field: 'milestones', message: 'externalIds must differ' }]);
  for (const [i, m] of milestones.entries()) {
    assertMayWriteOperatorFields(principal, m, `milestones[${i}].externalId`);
    await assertExternalIdFree(tx, 'milestone', principal.platformId, m.externalId, null, `milestones[${i}].externalId`);
  }

  const id = newId('contract');
  // The new row is what we write (the rest are the table's defaults): not read back, the insert
  // goes out with the transaction's next round trip (write-behind, db/client.ts).
  const contract: ContractRow = {
    id, platform_id: principal.platformId, title: input.title, description: input.description ?? null, client_id: input.clientId, contractor_id: input.contractorId,
    created_by: principal.userId, type: input.type, currency: input.currency, status: 'proposal', policy, ledger_seq: 0, external_id: input.externalId ?? null,
    metadata: input.metadata ?? {}, hourly_rate: input.hourlyRate ?? null, weekly_limit_hours: input.weeklyLimitHours ?? null, version: 1,
    activated_at: null, closed_at: null, created_at: now, updated_at: now,
  };
  await tx.query(
    `INSERT INTO contracts (id, platform_id, title, description, client_id, contractor_id, created_by, type, currency, status, policy, created_at, updated_at, hourly_rate, weekly_limit_hours, external_id, metadata)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,'proposal',$10,$11,$11,$12,$13,$14,$15)`,
    [id, principal.platformId, input.title, input.description ?? null, input.clientId, input.contractorId, principal.userId, input.type, input.currency, JSON.stringify(policy), now, input.hourlyRate ?? null, input.weeklyLimitHours ?? null, input.externalId ?? null, JSON.stringify(input.metadata ?? {})],
  );
  await assertFilesUsable(ctx, contract!, milestones.flatMap((m) => m.attachmentIds ?? []));
  const init = initialStatus(policy, role);
  for (const [i, m] of milestones.entries()) {
    await tx.query(
      `INSERT INTO milestones (id, platform_id, contract_id, position, title, description, amount, due_date, status, proposed_by, attachment_ids, created_at, updated_at, external_id, metadata)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$12,$13,$14)`,
      [newId('milestone'), principal.platformId, id, i + 1, m.title, m.description ?? null, m.amount, m.dueDate, init.status, init.proposedBy, JSON.stringify(m.attachmentIds ?? []), now, m.externalId ?? null, JSON.stringify(m.metadata ?? {})],
    );
  }
  await recordEvent(ctx, contract!, {
    kind: 'contract.created',
    actorRole: role,
    data: { title: input.title, milestones: milestones.length, amount: milestones.reduce((a, m) => a + m.amount, 0) },
  });
  return contract!;
}
