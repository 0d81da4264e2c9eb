import type { Contract } from '../../api.ts';
import { ok, tranche } from '../../app/client.ts';
import { useConfirm } from '../../app/ConfirmDialog.tsx';
import { PRESET_WORDS, presetName } from '../../app/words.ts';
import { formatTime } from '../../format.ts';
import { useContractView } from '../milestones/contract-data.ts';
import './changes.css';

/**
 * A contract in `proposal` is an offer: its terms in words, the milestones it proposes and their
 * total, and the answer — the other party accepts (it goes live with these terms) or declines;
 * whoever made it may withdraw it.
 */
export function Offer({ otherName }: { otherName: string }) {
  const { contract, me, run, busy, money } = useContractView();
  const confirm = useConfirm();
  if (contract.status !== 'proposal') return null;
  const mine = contract.createdBy === me.id;
  const id = { params: { path: { id: contract.id } } };
  const milestones = (contract.milestones ?? []).filter((m) => m.status === 'proposed' || m.status === 'accepted');
  const total = milestones.reduce((a, m) => a + m.amount, 0);
  const explain = (PRESET_WORDS as Record<string, { explain: string }>)[contract.policy.preset]?.explain;
  const fee = contract.policy.platformFee;

  const decline = async () => {
    const yes = await confirm({
      title: `Decline the offer “${contract.title}”?`,
      next: `The offer is closed and ${otherName} is told. Nothing was funded, so no money moves.`,
      confirmLabel: 'Decline the offer',
      danger: true,
    });
    if (yes) await run(() => ok(tranche.POST('/v1/contracts/{id}/decline', { ...id, body: {} })), 'The offer was declined.');
  };

  return (
    <section className="card stack offer" aria-labelledby="offer-title">
      <h2 id="offer-title">{mine ? `Your offer to ${otherName}` : `Offer from ${otherName}`}</h2>
      <p className="muted small">Made {formatTime(contract.createdAt)}. Nobody is bound by it until it is accepted.</p>
      <dl>
        <dt>Way of working</dt>
        <dd>
          <strong>{presetName(contract.policy.preset)}</strong>
          {explain && <span className="muted"> — {explain}</span>}
        </dd>
        <dt>Kind</dt>
        <dd>{contract.type === 'hourly' ? `Hourly${contract.hourlyRate !== null ? `, ${money(contract.hourlyRate)} an hour` : ''}${contract.weeklyLimitHours ? `, at most ${contract.weeklyLimitHours} hours a week` : ''}` : 'Fixed price, in milestones'}</dd>
        <dt>Currency</dt>
        <dd>{contract.currency}</dd>
        <dt>Money</dt>
        <dd>
          {contract.policy.escrow === 'none'
            ? 'No escrow: the client pays each milestone after approving it.'
            : contract.policy.fundingTrigger === 'on_acceptance'
              ? 'Each milestone is charged to the client’s card and held in escrow when the contractor accepts it.'
              : `The client funds each milestone into escrow before work starts${contract.policy.maxFundedMilestones === 1 ? ', one at a time' : ''}.`}
          {contract.policy.reviewPeriodDays !== null && ` Submitted work is approved by itself after ${contract.policy.reviewPeriodDays} days without a review.`}
        </dd>
        {contract.type === 'fixed' && (
          <>
            <dt>Milestones</dt>
            <dd>
              {milestones.length === 0 ? 'none yet' : `${milestones.length}, ${money(total)} in all`}
            </dd>
          </>
        )}
        {(fee.clientBps > 0 || fee.contractorBps > 0) && (
          <>
            <dt>Platform fee</dt>
            <dd>
              {fee.clientBps > 0 && `${fee.clientBps / 100}% paid by the client`}
              {fee.clientBps > 0 && fee.contractorBps > 0 && ', '}
              {fee.contractorBps > 0 && `${fee.contractorBps / 100}% paid by the contractor`}
            </dd>
          </>
        )}
      </dl>
      <div className="row wrap">
        {mine ? (
          <button type="button" className="secondary" disabled={busy} onClick={() => run(() => ok(tranche.POST('/v1/contracts/{id}/withdraw', { ...id, body: {} })), 'The offer was withdrawn.')}>
            Withdraw the offer
          </button>
        ) : (
          <>
            <button type="button" disabled={busy} onClick={() => run(() => ok(tranche.POST('/v1/contracts/{id}/activate', { ...id, body: {} })), 'The contract is active.')}>
              Accept the offer
            </button>
            <button type="button" className="secondary" disabled={busy} onClick={decline}>
              Decline the offer
            </button>
          </>
        )}
      </div>
    </section>
  );
}
