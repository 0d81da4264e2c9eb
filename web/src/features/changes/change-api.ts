import type { ChangeRequest } from '../../api.ts';
import { ok, tranche } from '../../app/client.ts';
import type { Operation } from '../milestones/plan.ts';

const on = (id: string) => ({ params: { path: { id } } });

/** Opens a change set: applied at once (status accepted) where the author may change alone, otherwise open for the other party. */
export const sendChangeSet = (contractId: string, operations: Operation[], message?: string): Promise<ChangeRequest> =>
  ok(tranche.POST('/v1/contracts/{id}/change-requests', { ...on(contractId), body: { operations, ...(message && { message }) } }));

/**
 * The dry run: the diff a change set would make, the agreed total before and after, and whether
 * sending applies it at once (`direct`) or waits for the other party; nothing is written.
 */
export const previewChangeSet = (contractId: string, operations: Operation[]) =>
  ok(tranche.POST('/v1/contracts/{id}/change-requests/preview', { ...on(contractId), body: { operations } }));

export type Preview = Awaited<ReturnType<typeof previewChangeSet>>;

/** The dry run of a counter-proposal to an open change request: its diff and totals; nothing is written. */
export const previewCounter = (changeRequestId: string, operations: Operation[]): Promise<Preview> =>
  ok(tranche.POST('/v1/change-requests/{id}/modify/preview', { ...on(changeRequestId), body: { operations } }));

/** A counter-proposal: a whole change set against the current milestones that supersedes the other party's open request. */
export const counterChangeRequest = (changeRequestId: string, operations: Operation[], message?: string): Promise<ChangeRequest> =>
  ok(tranche.POST('/v1/change-requests/{id}/modify', { ...on(changeRequestId), body: { operations, ...(message && { message }) } }));
