import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import type { Milestone, User } from '../api.ts';
import { presetName, statusWord } from '../app/words.ts';
import { formatMoney } from '../money.ts';
import { ChangeRequestCard } from '../features/changes/ChangeRequestCard.tsx';
import { Offer } from '../features/changes/Offer.tsx';
import { ChatPanel } from '../features/chat/ChatPanel.tsx';
import { HourlyPanel } from '../features/hourly/HourlyPanel.tsx';
import { ActivityList } from '../features/milestones/Activity.tsx';
import { AddMilestone } from '../features/milestones/AddMilestone.tsx';
import {
  abilities, ContractViewProvider, useContract, useContractPayments, useOpenChanges, useRun, type ContractView, type Role,
} from '../features/milestones/contract-data.ts';
import { MilestoneCard } from '../features/milestones/MilestoneCard.tsx';
import { Planner } from '../features/milestones/Planner.tsx';
import { CloseContract } from '../features/money/CloseContract.tsx';
import { DraftPayments } from '../features/money/DraftPayments.tsx';
import { PaymentOverview } from '../features/money/PaymentOverview.tsx';
import { Reviews } from '../features/reviews/Reviews.tsx';
import { partyOf, PartyCard } from '../features/reviews/PartyCard.tsx';
import '../features/milestones/milestones.css';

const PENDING = new Set(['proposed', 'accepted', 'funded', 'in_progress', 'submitted', 'disputed', 'approval_pending']);
const APPROVED = new Set(['approved', 'paid']);
const ENDED = new Set(['refunded', 'cancelled']);

/**
 * The contract page: the offer or the live contract with the other party's details, the payment
 * overview, open changes, the milestones (pending and approved, with everything either party can
 * do on them), payments to make, closing and reviews; the conversation and the activity beside.
 * Each part lives in its feature folder and reads the contract through `useContractView`.
 */
export function ContractPage({ id, me, onUnauthenticated }: { id: string; me: User; onUnauthenticated: () => void }) {
  const contract = useContract(id);
  const changes = useOpenChanges(id);
  const payments = useContractPayments(id);
  const { run, busy } = useRun(contract.data);
  const [planning, setPlanning] = useState(false);

  const c = contract.data;
  const view = useMemo<ContractView | null>(() => {
    if (!c) return null;
    const role: Role = c.contractorId === me.id ? 'contractor' : 'client';
    return { contract: c, role, other: role === 'client' ? 'contractor' : 'client', me, run, busy, can: abilities(c, role), money: (n: number) => formatMoney(n, c.currency) };
  }, [c, me, run, busy]);

  if (!c || !view) {
    return (
      <div className="stack" aria-busy={contract.isPending}>
        <h1>{contract.isPending ? 'Loading the contract…' : 'This contract could not be loaded'}</h1>
        {contract.isError && <p>It may not exist, or it is not shared with you.</p>}
        <p>
          <Link to="/">Back to contracts</Link>
        </p>
      </div>
    );
  }

  const { role, can } = view;
  const openChange = changes.data?.[0];
  const milestones = c.milestones ?? [];
  const pending = milestones.filter((m) => PENDING.has(m.status));
  const approved = milestones.filter((m) => APPROVED.has(m.status));
  const ended = milestones.filter((m) => ENDED.has(m.status));
  const otherParty = partyOf(c, view.other);
  const otherName = otherParty?.name ?? `the ${view.other}`;

  return (
    <ContractViewProvider value={view}>
      <div className="stack-lg contract-page" aria-busy={busy}>
        <nav aria-label="Breadcrumb" className="muted crumbs">
          <Link to="/">Contracts</Link> <span aria-hidden="true">/</span> <span>{c.title}</span>
        </nav>
        <header className="contract-head">
          <h1>{c.title}</h1>
          <p className="muted">
            You are the <strong>{role}</strong> · <span className={`badge s-${c.status}`}>{statusWord(c.status)}</span> · {c.type === 'hourly' ? 'Hourly' : 'Fixed price'} · {c.currency} ·{' '}
            {presetName(c.policy.preset)}
          </p>
          {c.description && <p>{c.description}</p>}
        </header>

        <PartyCard contract={c} role={view.other} />
        <Offer otherName={otherName} />
        <PaymentOverview contract={c} openChange={openChange} money={view.money} />

        {changes.data && changes.data.length > 0 && (
          <section aria-labelledby="cr-title" className="stack">
            <h2 id="cr-title">Proposed changes</h2>
            {changes.data.map((cr) => (
              <ChangeRequestCard key={cr.id} cr={cr} />
            ))}
          </section>
        )}

        {payments.data && <DraftPayments payments={payments.data} />}

        {c.type === 'hourly' && <HourlyPanel contract={c} role={role} />}

        <div className="columns">
          <div className="stack-lg">
            {c.type === 'fixed' && can.mayPlan && !planning && (
              <div className="row wrap between">
                <p className="muted">
                  {openChange
                    ? 'Milestones can be changed again once the proposed changes are answered.'
                    : can.needsAgreement
                      ? `Changes you make to the milestones are sent to the ${view.other} for approval.`
                      : 'You can change the milestones that are not funded yet.'}
                </p>
                {!openChange && milestones.some((m) => !ENDED.has(m.status)) && (
                  <button type="button" className="secondary" onClick={() => setPlanning(true)}>
                    Manage milestones
                  </button>
                )}
              </div>
            )}
            {planning && !openChange && <Planner onClose={() => setPlanning(false)} />}
            <MilestoneList title="Pending" empty="No pending milestones." list={pending} all={milestones} />
            <MilestoneList title="Approved" empty="No approved milestones yet." list={approved} all={milestones} />
            {ended.length > 0 && <MilestoneList title="Refunded or cancelled" empty="" list={ended} all={milestones} />}
            {can.mayCreate && !openChange && !planning && <AddMilestone />}
            {can.mayCreate && openChange && <p className="muted">Milestones can be added again once the proposed changes are answered.</p>}
            <CloseContract />
            <Reviews />
          </div>
          <div className="stack-lg">
            <ChatPanel contract={c} me={me} onUnauthenticated={onUnauthenticated} />
            <ActivityList />
          </div>
        </div>
      </div>
    </ContractViewProvider>
  );
}

/** The next milestone in order that can still be funded: where the rest of a partial release may go. */
function nextFundable(all: Milestone[], m: Milestone): Milestone | null {
  const ordered = [...all].sort((a, b) => a.position - b.position);
  return ordered.find((x) => x.position > m.position && x.status === 'accepted') ?? null;
}

function MilestoneList({ title, empty, list, all }: { title: string; empty: string; list: Milestone[]; all: Milestone[] }) {
  const headingId = `ms-${title.toLowerCase().replace(/\W+/g, '-')}`;
  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>
        {title} <span className="count">{list.length}</span>
      </h2>
      {list.length === 0 ? (
        <p className="muted">{empty}</p>
      ) : (
        <ul className="milestones">
          {list.map((m) => (
            <li key={m.id}>
              <MilestoneCard m={m} next={nextFundable(all, m)} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

