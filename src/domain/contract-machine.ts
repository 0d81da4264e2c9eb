import { AppError, forbidden, invalidState } from './errors.ts';
import type { Actor, ContractStatus } from './milestone-machine.ts';

export type ContractCommand = { type: 'activate' } | { type: 'withdraw' } | { type: 'decline' } | { type: 'close' };

export type ContractState = { status: ContractStatus; createdByRole: 'client' | 'contractor' };

export type ContractTransition = { ok: true; next: ContractStatus } | { ok: false; error: AppError };

/**
 * The contract state machine. A proposal becomes live only when the party who did not create
 * it accepts it (activate) — nobody is bound to terms they did not see and accept; that party
 * may instead decline it, and its creator may withdraw it; either party may close a live
 * contract (escrow left is settled by the close use case).
 */
export function contractTransition(c: ContractState, cmd: ContractCommand, actor: Actor): ContractTransition {
  const fail = (error: AppError): ContractTransition => ({ ok: false, error });
  const role = actor.role;
  switch (cmd.type) {
    case 'activate':
      if (role !== 'client' && role !== 'contractor') return fail(forbidden('the party who did not propose the contract accepts it: use the Acting-User header'));
      if (role === c.createdByRole) return fail(forbidden('the other party accepts your proposal; you may withdraw it'));
      if (c.status !== 'proposal') return fail(invalidState('contract', c.status));
      return { ok: true, next: 'active' };
    case 'withdraw':
      if (role !== c.createdByRole) return fail(forbidden('only the party who proposed the contract may withdraw it'));
      if (c.status !== 'proposal') return fail(invalidState('contract', c.status));
      return { ok: true, next: 'withdrawn' };
    case 'decline':
      if (role !== 'client' && role !== 'contractor') return fail(forbidden('only a party may decline'));
      if (role === c.createdByRole) return fail(forbidden('withdraw your own proposal instead of declining it'));
      if (c.status !== 'proposal') return fail(invalidState('contract', c.status));
      return { ok: true, next: 'declined' };
    case 'close':
      if (role !== 'client' && role !== 'contractor' && role !== 'admin') return fail(forbidden('only a party may close'));
      if (c.status !== 'active') return fail(invalidState('contract', c.status));
      return { ok: true, next: 'closed' };
  }
}

export type HeldMilestone = { id: string; held: number };
export type Settlement = { id: string; release: number; refund: number }[];

/**
 * How the escrow left at close is split: `release` and `refund` must sum to what is held
 * (either may be left out and is then the rest; both left out refunds everything). Each is
 * spread over the funded milestones in proportion to what each holds, remainders allocated so
 * that every milestone's parts sum to exactly its escrow.
 */
export function planCloseSettlement(
  held: HeldMilestone[],
  req: { release?: number; refund?: number },
  allocate: (total: number, weights: readonly number[]) => number[],
): Settlement | AppError {
  const total = held.reduce((a, m) => a + m.held, 0);
  const release = req.release ?? (req.refund !== undefined ? total - req.refund : 0);
  const refund = req.refund ?? total - release;
  if (release < 0 || refund < 0 || release + refund !== total) {
    return new AppError('validation_failed', `release + refund must equal the ${total} held in escrow`, { inEscrow: total }, [
      { field: req.release !== undefined ? 'release' : 'refund', message: `release + refund must be ${total}` },
    ]);
  }
  const releases = allocate(release, held.map((m) => m.held));
  return held.map((m, i) => ({ id: m.id, release: releases[i]!, refund: m.held - releases[i]! }));
}
