import { useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type { components, TrancheClient } from '@tranche/client';
import type { Contract } from '../../api.ts';
import { ok } from '../../app/client.ts';
import { useConfirm } from '../../app/ConfirmDialog.tsx';
import { keys } from '../../app/query.ts';
import { roleWord, statusWord } from '../../app/words.ts';
import { formatTime } from '../../format.ts';
import { useMoney } from '../../hooks.ts';
import { formatMoney } from '../../money.ts';
import { useNotice } from '../../notice.tsx';
import './admin.css';

type Dispute = components['schemas']['Dispute'];
/** What a dispute is about: the escrow the split must add up to, in the contract's currency. */
type Stake = { contract: Contract; subject: string; held: number };

/** Open and answered disputes, oldest deadline first, each with a release/refund split that must add up to the escrow. */
export function DisputeList({ client, signOut }: { client: TrancheClient; signOut: () => void }) {
  const meta = { admin: true };
  const disputes = useQuery({
    queryKey: keys.admin('disputes'),
    meta,
    queryFn: async () => {
      const [open, responded] = await Promise.all(
        (['open', 'responded'] as const).map((status) => ok(client.GET('/v1/admin/disputes', { params: { query: { status, limit: 100 } } }))),
      );
      return [...open!.data, ...responded!.data].sort((a, b) => a.respondBy.localeCompare(b.respondBy));
    },
  });
  const list = disputes.data ?? [];
  const stakes = useQueries({
    queries: list.map((d) => ({
      queryKey: keys.admin('stake', { id: d.id }),
      meta,
      queryFn: async (): Promise<Stake> => {
        const contract = await ok(client.GET('/v1/contracts/{id}', { params: { path: { id: d.contractId } } }));
        if (d.milestoneId) {
          const m = contract.milestones?.find((x) => x.id === d.milestoneId) ?? (await ok(client.GET('/v1/milestones/{id}', { params: { path: { id: d.milestoneId } } })));
          return { contract, subject: `Milestone “${m.title}”`, held: m.inEscrow };
        }
        const inv = await ok(client.GET('/v1/invoices/{id}', { params: { path: { id: d.invoiceId ?? '' } } }));
        return { contract, subject: 'Weekly invoice', held: inv.amountDue };
      },
    })),
  });

  return (
    <section aria-labelledby="admin-disputes-title" aria-busy={disputes.isPending} className="stack">
      <div className="row between wrap">
        <h1 id="admin-disputes-title">Disputes to resolve</h1>
        <button type="button" className="secondary" onClick={signOut}>
          Sign out of admin
        </button>
      </div>
      <p className="muted">Disputes the parties have not settled. Split what is held between the contractor (released) and the client (refunded).</p>
      {disputes.data && list.length === 0 && (
        <div className="card empty">
          <h2>No open disputes</h2>
          <p className="muted">Nothing waits for you. Disputes appear here when a party opens one.</p>
        </div>
      )}
      <ul className="disputes">
        {list.map((d, i) => {
          const stake = stakes[i]?.data;
          return (
            <li key={d.id}>{stake ? <DisputeCard dispute={d} stake={stake} client={client} /> : <article className="card" aria-busy="true" aria-label="Loading dispute" />}</li>
          );
        })}
      </ul>
    </section>
  );
}

function DisputeCard({ dispute: d, stake, client }: { dispute: Dispute; stake: Stake; client: TrancheClient }) {
  const { contract, subject, held } = stake;
  const money = useMoney(contract.currency);
  const notice = useNotice();
  const confirm = useConfirm();
  const qc = useQueryClient();
  const [release, setRelease] = useState('');
  const [refund, setRefund] = useState('');
  const [busy, setBusy] = useState(false);
  const r = money.parse(release);
  const f = money.parse(refund);
  const sum = (r ?? 0) + (f ?? 0);
  const fits = r !== null && f !== null && sum === held;
  const fill = (rel: number) => {
    setRelease(formatPlain(rel, contract.currency));
    setRefund(formatPlain(held - rel, contract.currency));
  };
  const titleId = `dispute-${d.id}`;

  const resolve = async (e: FormEvent) => {
    e.preventDefault();
    if (!fits) return;
    const yes = await confirm({
      title: `Resolve the dispute on ${contract.title}?`,
      currency: contract.currency,
      details: [
        { label: 'Released to the contractor', value: money.format(r) },
        { label: 'Refunded to the client', value: money.format(f) },
        { label: 'Held in escrow', value: money.format(held) },
      ],
      next: 'The split is final: the money moves at once, both parties are told, and the dispute is closed.',
      confirmLabel: 'Resolve dispute',
    });
    if (!yes) return;
    setBusy(true);
    try {
      await ok(client.POST('/v1/disputes/{id}/resolve', { params: { path: { id: d.id } }, body: { releaseAmount: r, refundAmount: f } }));
      notice.info(`The dispute on ${contract.title} is resolved: ${money.format(r)} released, ${money.format(f)} refunded.`);
      await qc.invalidateQueries({ queryKey: ['admin'] });
    } catch (err) {
      notice.error(err, { currency: contract.currency });
    } finally {
      setBusy(false);
    }
  };

  return (
    <article className="card stack" aria-labelledby={titleId}>
      <div className="row between wrap">
        <h2 id={titleId}>{contract.title}</h2>
        <span className={`badge s-${d.status}`}>{statusWord(d.status)}</span>
      </div>
      <dl className="facts">
        <div>
          <dt>About</dt>
          <dd>{subject}</dd>
        </div>
        <div>
          <dt>Held in escrow</dt>
          <dd>{money.format(held)}</dd>
        </div>
        <div>
          <dt>Opened by</dt>
          <dd>
            the {roleWord(d.openerRole).toLowerCase()}, {formatTime(d.createdAt)}
          </dd>
        </div>
        <div>
          <dt>Answer due</dt>
          <dd>{formatTime(d.respondBy)}</dd>
        </div>
      </dl>
      <p className="note">
        <strong>Reason: </strong>
        {d.reason}
      </p>
      {d.response && (
        <p className="note">
          <strong>Answer: </strong>
          {d.response.message}
        </p>
      )}
      <form className="stack split" onSubmit={resolve} aria-label={`Resolve the dispute on ${contract.title}`}>
        <div className="row wrap">
          <button type="button" className="secondary" onClick={() => fill(held)}>
            All to the contractor
          </button>
          <button type="button" className="secondary" onClick={() => fill(0)}>
            All back to the client
          </button>
          <button type="button" className="secondary" onClick={() => fill(Math.floor(held / 2))}>
            Half each
          </button>
        </div>
        <div className="row wrap gap">
          <label>
            {money.label('Release to the contractor')}
            <input inputMode="decimal" value={release} placeholder={money.placeholder} onChange={(e) => setRelease(e.target.value)} />
          </label>
          <label>
            {money.label('Refund to the client')}
            <input inputMode="decimal" value={refund} placeholder={money.placeholder} onChange={(e) => setRefund(e.target.value)} />
          </label>
        </div>
        <p className={fits || (!release && !refund) ? 'muted' : 'split-error'} aria-live="polite">
          {r === null && release.trim()
            ? `The release is not an amount in ${contract.currency}.`
            : f === null && refund.trim()
              ? `The refund is not an amount in ${contract.currency}.`
              : fits
                ? `Adds up to the ${money.format(held)} held.`
                : `Release and refund must add up to ${money.format(held)}; now ${money.format(sum)}.`}
        </p>
        <div>
          <button type="submit" disabled={!fits || busy}>
            Resolve dispute
          </button>
        </div>
      </form>
    </article>
  );
}

/** An amount as people type it ("1500.00"), for prefilled fields. */
function formatPlain(minor: number, currency: string): string {
  return formatMoney(minor, currency).replace(/[^\d.]/g, '');
}
