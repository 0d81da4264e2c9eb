import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { ok, tranche } from '../../app/client.ts';
import { keys } from '../../app/query.ts';
import { useTitle } from '../../app/page.ts';
import { formatDate, statusLabel } from '../../format.ts';
import { formatMoney } from '../../money.ts';
import { useNotice } from '../../notice.tsx';
import { can } from './roles.ts';
import './organizations.css';

type Tab = 'pending' | 'approved' | 'pay';
const TABS: [Tab, string][] = [
  ['pending', 'Pending'],
  ['approved', 'Approved'],
  ['pay', 'Pay contractor'],
];

/**
 * A contractor's profile as the organisation sees it (seed 000): their milestones across all
 * the organisation's contracts, pending or approved, and their draft payments to pay (finance).
 */
export function ContractorPage() {
  const { id = '', userId = '' } = useParams();
  const [tab, setTab] = useState<Tab>('pending');
  const org = useQuery({ queryKey: ['organization', id], queryFn: () => ok(tranche.GET('/v1/organizations/{id}', { params: { path: { id } } })) });
  const people = useQuery({
    queryKey: ['organization', id, 'contractors'],
    queryFn: () => ok(tranche.GET('/v1/organizations/{id}/contractors', { params: { path: { id } } })),
  });
  const person = people.data?.data.find((c) => c.userId === userId);
  useTitle(person?.name ?? 'Contractor');
  if (org.isPending || people.isPending) return <p className="muted">Loading…</p>;
  if (!org.data || !person) {
    return (
      <div className="stack">
        <h1>Contractor not found</h1>
        <p className="muted">This person has no contract with the organisation, or you are not one of its members.</p>
      </div>
    );
  }
  return (
    <div className="stack-lg orgs">
      <div className="stack">
        <p>
          <Link to={`/organizations/${id}`}>← {org.data.name}</Link>
        </p>
        <h1>{person.name}</h1>
        <p className="muted">
          {person.totals.map((t) => `${formatMoney(t.inEscrow, t.currency)} in escrow · ${formatMoney(t.paid, t.currency)} paid · ${formatMoney(t.pending, t.currency)} pending`).join(' — ')}
        </p>
      </div>
      <div className="row wrap" role="tablist" aria-label="Milestones and payments">
        {TABS.map(([t, label]) => (
          <button key={t} type="button" role="tab" aria-selected={tab === t} className={tab === t ? undefined : 'secondary'} onClick={() => setTab(t)}>
            {label}
          </button>
        ))}
      </div>
      <div role="tabpanel" aria-label={TABS.find(([t]) => t === tab)![1]}>
        {tab === 'pay' ? <PayContractor orgId={id} contractorId={userId} mayPay={can(org.data.myRoles, 'finance')} /> : <MilestoneList orgId={id} contractorId={userId} section={tab} />}
      </div>
    </div>
  );
}

function MilestoneList({ orgId, contractorId, section }: { orgId: string; contractorId: string; section: 'pending' | 'approved' }) {
  const list = useQuery({
    queryKey: ['organization', orgId, 'contractor', contractorId, section],
    queryFn: () => ok(tranche.GET('/v1/organizations/{id}/contractors/{userId}/milestones', { params: { path: { id: orgId, userId: contractorId }, query: { section } } })),
  });
  const rows = list.data?.data ?? [];
  if (list.isPending) return <p className="muted">Loading…</p>;
  if (rows.length === 0) return <p className="card empty muted">{section === 'pending' ? 'Nothing in progress or awaiting review.' : 'No approved milestones yet.'}</p>;
  return (
    <table className="table cards">
      <thead>
        <tr>
          <th>Milestone</th>
          <th>Contract</th>
          <th>Status</th>
          <th>Due</th>
          <th className="num">Amount</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((m) => (
          <tr key={m.id}>
            <td data-label="">
              <Link to={`/contracts/${m.contractId}`}>{m.title}</Link>
            </td>
            <td data-label="Contract">{m.contractTitle}</td>
            <td data-label="Status">
              <span className="badge">{statusLabel(m.status)}</span>
              {m.pendingApproval && <span className="muted"> · waits for a second approval</span>}
            </td>
            <td data-label="Due">{formatDate(m.dueDate)}</td>
            <td className="num" data-label="Amount">{formatMoney(m.amount, m.currency)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The contractor's draft payments on the organisation's contracts; finance pays the ones selected (all or nothing). */
function PayContractor({ orgId, contractorId, mayPay }: { orgId: string; contractorId: string; mayPay: boolean }) {
  const notice = useNotice();
  const qc = useQueryClient();
  const list = useQuery({ queryKey: keys.payments({ status: 'draft', limit: 100 }), queryFn: () => ok(tranche.GET('/v1/payments', { params: { query: { status: 'draft', limit: 100 } } })) });
  const drafts = (list.data?.data ?? []).filter((p) => p.clientId === orgId && p.contractorId === contractorId);
  const [selected, setSelected] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const pay = async () => {
    setBusy(true);
    try {
      const paid = await ok(tranche.POST('/v1/payments/pay', { body: { paymentIds: selected } }));
      const waiting = paid.data.filter((p) => p.pendingApproval).length;
      await qc.invalidateQueries({ queryKey: ['payments'] });
      await qc.invalidateQueries({ queryKey: ['organization', orgId] });
      setSelected([]);
      notice.info(waiting ? `${paid.data.length - waiting} paid; ${waiting} wait for a second member to pay them too.` : `${paid.data.length} paid.`);
    } catch (err) {
      notice.error(err);
    } finally {
      setBusy(false);
    }
  };
  if (list.isPending) return <p className="muted">Loading…</p>;
  if (drafts.length === 0) return <p className="card empty muted">Nothing to pay: approved work without escrow shows here as draft payments.</p>;
  return (
    <div className="stack">
      {!mayPay && <p className="muted">Paying is for members with the finance role.</p>}
      <table className="table cards">
        <thead>
          <tr>
            <th>
              <span className="sr-only">Select</span>
            </th>
            <th>For</th>
            <th className="num">Amount</th>
          </tr>
        </thead>
        <tbody>
          {drafts.map((p) => (
            <tr key={p.id}>
              <td data-label={mayPay ? 'Select' : ''} className={mayPay ? undefined : 'empty-cell'}>
                {mayPay && (
                  <input
                    type="checkbox"
                    aria-label={`Select ${formatMoney(p.amount, p.currency)}`}
                    checked={selected.includes(p.id)}
                    onChange={(e) => setSelected(e.target.checked ? [...selected, p.id] : selected.filter((x) => x !== p.id))}
                  />
                )}
              </td>
              <td data-label="">
                <Link to={`/contracts/${p.contractId}`}>{p.milestoneTitle ?? p.contractTitle ?? 'Payment'}</Link>
                {p.pendingApproval && <span className="muted"> · paid once, waits for a second member</span>}
              </td>
              <td className="num" data-label="Amount">{formatMoney(p.amount, p.currency)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {mayPay && (
        <div>
          <button type="button" onClick={pay} disabled={busy || selected.length === 0}>
            Pay selected
          </button>
        </div>
      )}
    </div>
  );
}
