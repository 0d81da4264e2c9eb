import { useState, type FormEvent } from 'react';
import type { Milestone } from '../../api.ts';
import { ok, tranche } from '../../app/client.ts';
import { useConfirm } from '../../app/ConfirmDialog.tsx';
import { decimals, parseMoney } from '../../money.ts';
import { useContractView } from '../milestones/contract-data.ts';
import { cardLines, chargeQuote, releaseQuote } from './quote.ts';
import './money.css';

/** Client, escrow: hold the milestone's amount; the confirmation names the charge, the fee and the card. */
/** The provider has not answered the charge yet (a 202): the milestone says `fundingPending`. */
const waiting = (answer: unknown) => (answer as { fundingPending?: boolean } | undefined)?.fundingPending === true;

export function FundButton({ m }: { m: Milestone }) {
  const { contract, me, run, busy, money } = useContractView();
  const confirm = useConfirm();
  const q = chargeQuote(contract, m.amount);
  const fund = async () => {
    const card = await cardLines(contract, me.defaultPaymentMethod);
    const yes = await confirm({
      title: `Fund “${m.title}”?`,
      amount: m.amount,
      currency: contract.currency,
      fee: q.fee,
      feeLabel: 'Platform fee paid by you',
      card: card.card,
      details: [...card.details, { label: 'Charged to the card', value: money(q.total) }],
      next: `${money(m.amount)} is held in escrow for this milestone. The contractor is told and can start; the money reaches them only when you approve the work or release part of it.`,
      confirmLabel: `Fund ${money(m.amount)}`,
    });
    if (yes) {
      await run(
        () => ok(tranche.POST('/v1/milestones/{id}/fund', { params: { path: { id: m.id } }, body: {} })),
        (a) => (waiting(a) ? `Your card is being charged ${money(m.amount)} for “${m.title}”; you will be told when it is held in escrow.` : `${money(m.amount)} is held in escrow for “${m.title}”.`),
      );
    }
  };
  return (
    <button type="button" disabled={busy} onClick={fund}>
      Fund {money(m.amount)}
    </button>
  );
}

/** Client: approve the work; with escrow it releases what is held, without escrow it makes a draft payment. */
export function ApproveButton({ m }: { m: Milestone }) {
  const { contract, run, busy, money, can } = useContractView();
  const confirm = useConfirm();
  const approve = async () => {
    const released = can.escrow ? m.inEscrow : m.amount;
    const q = releaseQuote(contract, m.releasedAmount, released);
    const yes = await confirm({
      title: `Approve “${m.title}”?`,
      amount: released,
      currency: contract.currency,
      ...(can.escrow && q.fee > 0 && { fee: q.fee, feeLabel: 'Platform fee paid by the contractor' }),
      details: can.escrow ? [{ label: 'The contractor receives', value: money(q.net) }] : [],
      next: can.escrow
        ? `${money(released)} is released from escrow to the contractor now. The milestone moves to Approved and is paid; this cannot be undone.`
        : `The milestone moves to Approved and a payment of ${money(released)} is drafted. Nothing is charged until you press Pay on it.`,
      confirmLabel: can.escrow ? `Approve and release ${money(released)}` : 'Approve',
    });
    if (yes) await run(() => ok(tranche.POST('/v1/milestones/{id}/approve', { params: { path: { id: m.id } }, body: {} })), `“${m.title}” was approved.`);
  };
  return (
    <button type="button" disabled={busy} onClick={approve}>
      Approve
    </button>
  );
}

/** Contractor: give the escrow of a milestone back to the client (the milestone ends refunded). */
export function GiveBackButton({ m }: { m: Milestone }) {
  const { contract, run, busy, money } = useContractView();
  const confirm = useConfirm();
  const giveBack = async () => {
    const yes = await confirm({
      title: `Give the escrow of “${m.title}” back?`,
      amount: m.inEscrow,
      currency: contract.currency,
      next: `${money(m.inEscrow)} goes back to the client’s card and the milestone ends as refunded. You will not be paid for it.`,
      confirmLabel: `Refund ${money(m.inEscrow)} to the client`,
      danger: true,
    });
    if (yes) await run(() => ok(tranche.POST('/v1/milestones/{id}/refund', { params: { path: { id: m.id } }, body: {} })), `${money(m.inEscrow)} of “${m.title}” was refunded to the client.`);
  };
  return (
    <button type="button" className="secondary" disabled={busy} onClick={giveBack}>
      Give the escrow back
    </button>
  );
}

/**
 * Client, where the policy lets a funded milestone be deleted until it is paid (seed 002, option
 * 2): the milestone goes and its escrow comes back.
 */
export function RemoveFundedButton({ m }: { m: Milestone }) {
  const { contract, run, busy, money } = useContractView();
  const confirm = useConfirm();
  const remove = async () => {
    const yes = await confirm({
      title: `Remove “${m.title}”?`,
      amount: m.inEscrow,
      currency: contract.currency,
      next: `The milestone is removed and the ${money(m.inEscrow)} held for it is refunded to your card. The contractor is told.`,
      confirmLabel: `Remove and refund ${money(m.inEscrow)}`,
      danger: true,
    });
    if (yes) await run(() => ok(tranche.DELETE('/v1/milestones/{id}', { params: { path: { id: m.id } } })), `“${m.title}” was removed and its escrow refunded.`);
  };
  return (
    <button type="button" className="secondary" disabled={busy} onClick={remove}>
      Remove and refund
    </button>
  );
}

/** Four eyes: a second member of the company confirms the release a first member asked for. */
export function ConfirmReleaseButton({ m, amount }: { m: Milestone; amount: number }) {
  const { contract, run, busy, money } = useContractView();
  const confirm = useConfirm();
  const go = async () => {
    const q = releaseQuote(contract, m.releasedAmount, amount);
    const yes = await confirm({
      title: `Confirm the release for “${m.title}”?`,
      amount,
      currency: contract.currency,
      ...(q.fee > 0 && { fee: q.fee, feeLabel: 'Platform fee paid by the contractor' }),
      details: [{ label: 'The contractor receives', value: money(q.net) }],
      next: `Another member of your company asked for this release; with your confirmation ${money(amount)} goes to the contractor now.`,
      confirmLabel: `Release ${money(amount)}`,
    });
    if (yes) await run(() => ok(tranche.POST('/v1/milestones/{id}/release', { params: { path: { id: m.id } }, body: { amount } })), `You confirmed the release of ${money(amount)} for “${m.title}”.`);
  };
  return (
    <button type="button" disabled={busy} onClick={go}>
      Confirm the release of {money(amount)}
    </button>
  );
}

type Rest = 'keep' | 'next' | 'refund';

/**
 * Client: release part of a milestone's escrow, and say what happens to the rest: it stays held,
 * it funds the next milestone (seed 001), or it goes back to the client.
 */
export function ReleaseForm({ m, next, onDone, onCancel }: { m: Milestone; next: Milestone | null; onDone: (ok: boolean) => void; onCancel: () => void }) {
  const { contract, run, busy, money, me } = useContractView();
  const confirm = useConfirm();
  const [text, setText] = useState('');
  const [rest, setRest] = useState<Rest>('keep');
  const [problem, setProblem] = useState<string | null>(null);
  const cur = contract.currency;
  const fundsNext = next !== null && next.status === 'accepted';

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const amount = parseMoney(text, cur);
    if (amount === null || amount <= 0) return setProblem(`Enter an amount in ${cur} greater than zero, with at most ${decimals(cur)} decimals.`);
    if (amount > m.inEscrow) return setProblem(`At most ${money(m.inEscrow)} is held for this milestone.`);
    const left = m.inEscrow - amount;
    if (rest !== 'keep' && left === 0) return setProblem('Nothing would be left: choose “keep” or release less.');
    setProblem(null);
    const q = releaseQuote(contract, m.releasedAmount, amount);
    const details = [{ label: 'The contractor receives', value: money(q.net) }, { label: 'Left in escrow', value: money(left) }];
    let nextWords: string;
    if (rest === 'next' && next) {
      const diff = next.amount - left;
      const charge = chargeQuote(contract, Math.max(0, diff));
      details.push({ label: `Moves to “${next.title}”`, value: money(left) });
      if (diff > 0) details.push({ label: 'Charged to your card for the difference', value: money(charge.total) });
      if (diff < 0) details.push({ label: 'Refunded to you (more than it needs)', value: money(-diff) });
      nextWords =
        `${money(amount)} is paid to the contractor and “${m.title}” is settled as paid. ` +
        `The ${money(left)} left funds “${next.title}” (${money(next.amount)})` +
        (diff > 0 ? `; your card is charged the difference.` : diff < 0 ? `; what it does not need comes back to you.` : '.');
    } else if (rest === 'refund') {
      details.push({ label: 'Refunded to you', value: money(left) });
      nextWords = `${money(amount)} is paid to the contractor, the ${money(left)} left goes back to your card, and “${m.title}” is settled.`;
    } else {
      nextWords = `${money(amount)} is paid to the contractor now; ${money(left)} stays in escrow for “${m.title}” until you approve the rest, release it, or close the contract.`;
    }
    // Moving the rest to a dearer milestone charges the difference to the card.
    const card = rest === 'next' && next && next.amount > left ? await cardLines(contract, me.defaultPaymentMethod) : null;
    const yes = await confirm({
      title: `Release part of “${m.title}”?`,
      amount,
      currency: cur,
      ...(q.fee > 0 && { fee: q.fee, feeLabel: 'Platform fee paid by the contractor' }),
      ...(card?.card !== undefined && { card: card.card }),
      details: [...details, ...(card?.details ?? [])],
      next: nextWords,
      confirmLabel: `Release ${money(amount)}`,
    });
    if (!yes) return;
    const body = rest === 'keep' ? { amount } : { amount, rest };
    onDone(
      await run(
        () => ok(tranche.POST('/v1/milestones/{id}/release', { params: { path: { id: m.id } }, body })),
        (a) =>
          rest === 'next' && next
            ? waiting(a)
              ? `Your card is being charged the difference for “${next.title}”; the release of ${money(amount)} and the move happen when the charge goes through.`
              : `${money(amount)} was released; the rest now funds “${next.title}”.`
            : `${money(amount)} was released for “${m.title}”.`,
      ),
    );
  };

  return (
    <form className="inline-form stack" onSubmit={submit} aria-label={`Release part: ${m.title}`}>
      <label>
        Amount to release ({cur})
        <input inputMode="decimal" required autoFocus value={text} onChange={(e) => setText(e.target.value)} placeholder={decimals(cur) ? `0.${'0'.repeat(decimals(cur))}` : '0'} />
      </label>
      <p className="muted small">{money(m.inEscrow)} is held for this milestone.</p>
      <fieldset className="choices">
        <legend>What happens to the rest</legend>
        <label>
          <input type="radio" name={`rest-${m.id}`} checked={rest === 'keep'} onChange={() => setRest('keep')} />
          <span>Keep it in escrow for this milestone</span>
        </label>
        {fundsNext && next && (
          <label>
            <input type="radio" name={`rest-${m.id}`} checked={rest === 'next'} onChange={() => setRest('next')} />
            <span>Use it to fund the next milestone, “{next.title}” ({money(next.amount)}), and settle this one</span>
          </label>
        )}
        <label>
          <input type="radio" name={`rest-${m.id}`} checked={rest === 'refund'} onChange={() => setRest('refund')} />
          <span>Refund it to me and settle this milestone</span>
        </label>
      </fieldset>
      {problem && (
        <p className="field-problem" role="alert">
          {problem}
        </p>
      )}
      <div className="row wrap">
        <button type="submit" disabled={busy}>
          Review the release
        </button>
        <button type="button" className="link" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
