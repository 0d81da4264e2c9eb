import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useState } from 'react';
import type { Contract, User } from '../../api.ts';
import { ok, tranche } from '../../app/client.ts';
import { contractQuery } from '../../app/queries.ts';
import { keys } from '../../app/query.ts';
import { useNotice } from '../../notice.tsx';

export type Role = 'client' | 'contractor';

/** The contract with its milestones (in order) and payment overview. */
export const useContract = (id: string) => useQuery(contractQuery(id));

/** The open change requests (at most one is open on a contract at a time). */
export const useOpenChanges = (id: string) =>
  useQuery({
    queryKey: keys.contractPart(id, 'change-requests', { status: 'open' }),
    queryFn: async () => (await ok(tranche.GET('/v1/contracts/{id}/change-requests', { params: { path: { id }, query: { status: 'open' } } }))).data,
  });

export const useActivity = (id: string) =>
  useQuery({
    queryKey: keys.contractPart(id, 'activity'),
    queryFn: async () => (await ok(tranche.GET('/v1/contracts/{id}/activity', { params: { path: { id }, query: { limit: 100 } } }))).data,
  });

/** Payments of this contract (they are also under `['payments']`: the payments page's lists). */
export const useContractPayments = (id: string) =>
  useQuery({
    queryKey: keys.contractPart(id, 'payments'),
    queryFn: async () => (await ok(tranche.GET('/v1/payments', { params: { query: { contractId: id, limit: 100 } } }))).data,
  });

/** `success` may read the answer: e.g. a deposit the provider has not answered yet says so. */
export type Run = (action: () => Promise<unknown>, success: string | ((answer: unknown) => string)) => Promise<boolean>;

/**
 * Runs one command on the contract: the page is busy meanwhile, the outcome goes to the status or
 * alert region in people's words (amounts in the contract's currency), and the page's data is
 * refreshed either way (a refused command may mean someone else changed the contract first).
 */
export function useRun(contract: Pick<Contract, 'id' | 'currency'> | undefined): { run: Run; busy: boolean } {
  const notice = useNotice();
  const qc = useQueryClient();
  const [busy, setBusy] = useState(false);
  const id = contract?.id;
  const currency = contract?.currency;
  const run: Run = useCallback(
    async (action, success) => {
      setBusy(true);
      try {
        const answer = await action();
        notice.info(typeof success === 'function' ? success(answer) : success);
        return true;
      } catch (e) {
        notice.error(e, { currency });
        return false;
      } finally {
        setBusy(false);
        if (id) await qc.invalidateQueries({ queryKey: keys.contract(id) });
        await qc.invalidateQueries({ queryKey: ['payments'] });
      }
    },
    [notice, qc, id, currency],
  );
  return { run, busy };
}

/** What the viewer may do on this contract, from its status and policy. */
export function abilities(contract: Contract, role: Role) {
  const open = contract.status === 'proposal' || contract.status === 'active';
  const p = contract.policy;
  const fixed = contract.type === 'fixed';
  return {
    open,
    live: contract.status === 'active',
    escrow: p.escrow === 'required',
    /** May add milestones at all. */
    mayCreate: open && fixed && (p.milestoneCreators === 'both' || p.milestoneCreators === role),
    /** The viewer's milestone changes wait for the other party's agreement. */
    needsAgreement: p.changesNeedAcceptance[role],
    /** May compose a change set (either party may propose edits, removals and a new order). */
    mayPlan: open && fixed,
  };
}

/** What every part of the contract page shares: the contract, who is looking, and how to act. */
export type ContractView = {
  contract: Contract;
  role: Role;
  other: Role;
  me: User;
  run: Run;
  busy: boolean;
  can: ReturnType<typeof abilities>;
  money: (minor: number) => string;
};

const ViewCtx = createContext<ContractView | null>(null);
export const ContractViewProvider = ViewCtx.Provider;
export function useContractView(): ContractView {
  const v = useContext(ViewCtx);
  if (!v) throw new Error('useContractView outside the contract page');
  return v;
}
