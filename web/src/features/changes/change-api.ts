import type { ChangeRequest } from '../../api.ts';
import { ok, tranche } from '../../app/client.ts';
import type { Operation } from '../milestones/plan.ts';

/** Opens a change set: applied at once (status accepted) where the author may change alone, otherwise open for the other party. */
export const sendChangeSet = (contractId: string, operations: Operation[], message?: string): Promise<ChangeRequest> =>
  ok(tranche.POST('/v1/contracts/{id}/change-requests', { params: { path: { id: contractId } }, body: { operations, ...(message && { message }) } }));

/** The diff a change set would make, computed by the API without changing anything (a dry run). */
export async function previewChangeSet(contractId: string, operations: Operation[]): Promise<ChangeRequest['diff']> {
  void contractId;
  void operations;
  throw new Error('The preview is not available yet.');
}

/** A counter-proposal: replaces the other party's open change request with the author's own change set. */
export async function counterChangeRequest(changeRequestId: string, operations: Operation[], message?: string): Promise<ChangeRequest> {
  void changeRequestId;
  void operations;
  void message;
  throw new Error('Counter-proposals are not available yet.');
}
