import type { ChangeRequest, Contract } from '../../api.ts';
import './money.css';

/**
 * The payment overview (seed 004): one notion of total — what both parties agreed — drawn as
 * one stacked bar of paid / in escrow / still to fund (or to pay, without escrow), and beside it
 * what is only proposed: milestones waiting for acceptance and an open change request's total.
 */
export function PaymentOverview({ contract, openChange, money }: { contract: Contract; openChange: ChangeRequest | undefined; money: (n: number) => string }) {
  const ov = contract.overview;
  if (!ov) return null;
  const escrow = contract.policy.escrow === 'required';
  const rest = Math.max(0, ov.remaining);
  const whole = Math.max(1, ov.paid + ov.inEscrow + rest);
  const pct = (n: number) => `${((n / whole) * 100).toFixed(2)}%`;
  const restLabel = escrow ? 'Still to fund' : 'Still to pay';
  const waiting = (contract.milestones ?? []).filter((m) => m.status === 'proposed').reduce((a, m) => a + m.amount, 0);
  const delta = openChange ? openChange.diff.totalAfter - openChange.diff.totalBefore : 0;
  const proposedTotal = openChange || waiting > 0 ? ov.total + waiting + delta : null;
  return (
    <section aria-labelledby="overview-title" className="card">
      <h2 id="overview-title">Payment overview</h2>
      <dl className="overview">
        <Figure label="Agreed total" value={money(ov.total)} />
        <Figure label="Paid" value={money(ov.paid)} />
        {escrow && <Figure label="In escrow" value={money(ov.inEscrow)} />}
        <Figure label={restLabel} value={money(rest)} />
      </dl>
      <div
        className="pay-bar"
        role="img"
        aria-label={`Of ${money(ov.total)} agreed: ${money(ov.paid)} paid${escrow ? `, ${money(ov.inEscrow)} in escrow` : ''}, ${money(rest)} ${restLabel.toLowerCase()}.`}
      >
        {ov.paid > 0 && <span className="paid" style={{ width: pct(ov.paid) }} />}
        {ov.inEscrow > 0 && <span className="escrow" style={{ width: pct(ov.inEscrow) }} />}
        {rest > 0 && <span className="tofund" style={{ width: pct(rest) }} />}
      </div>
      <ul className="pay-key" aria-hidden="true">
        <li className="paid">Paid</li>
        {escrow && <li className="escrow">In escrow</li>}
        <li className="tofund">{restLabel}</li>
      </ul>
      <p className="muted totals-note">
        The agreed total counts the milestones both of you accepted.
        {proposedTotal !== null && proposedTotal !== ov.total && (
          <>
            {' '}
            Proposed: <strong>{money(proposedTotal)}</strong>
            {openChange && waiting > 0 ? ' if the open changes and the milestones waiting for acceptance are accepted.' : openChange ? ' if the open changes are accepted.' : ' with the milestones waiting for acceptance.'}
          </>
        )}
      </p>
    </section>
  );
}

function Figure({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}
