import { useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ok, tranche } from '../../app/client.ts';
import { cardName, TEST_CARDS } from '../../app/words.ts';
import { formatMoney, parseMoney } from '../../money.ts';
import { useNotice } from '../../notice.tsx';
import { can, type Organization } from './roles.ts';

/** Admins rename and set the four-eyes threshold; finance sets the organisation's card. */
export function Settings({ org }: { org: Organization }) {
  const notice = useNotice();
  const qc = useQueryClient();
  const admin = can(org.myRoles, 'admin');
  const finance = can(org.myRoles, 'finance');
  const [name, setName] = useState(org.name);
  const [currency, setCurrency] = useState(Object.keys(org.approvalThreshold)[0] ?? 'USD');
  const [threshold, setThreshold] = useState('');
  const [card, setCard] = useState(org.defaultPaymentMethod ?? 'pm_card_ok');
  const [busy, setBusy] = useState(false);
  const run = async (f: () => Promise<unknown>, done: string) => {
    setBusy(true);
    try {
      await f();
      await qc.invalidateQueries({ queryKey: ['organization', org.id] });
      await qc.invalidateQueries({ queryKey: ['organizations'] });
      notice.info(done);
    } catch (err) {
      notice.error(err);
    } finally {
      setBusy(false);
    }
  };
  const patch = (body: { name?: string; approvalThreshold?: Record<string, number> }) =>
    ok(tranche.PATCH('/v1/organizations/{id}', { params: { path: { id: org.id } }, body }));
  const setFourEyes = (e: FormEvent) => {
    e.preventDefault();
    const amount = parseMoney(threshold, currency);
    if (amount === null || amount <= 0) return notice.error(new Error(`Enter an amount in ${currency}, such as 500.00.`));
    void run(() => patch({ approvalThreshold: { ...org.approvalThreshold, [currency]: amount } }), `Two members now approve ${formatMoney(amount, currency)} or more.`);
  };
  const thresholds = Object.entries(org.approvalThreshold);
  return (
    <section className="card stack" aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      {admin && (
        <form className="row wrap" onSubmit={(e) => { e.preventDefault(); void run(() => patch({ name }), 'Renamed.'); }}>
          <label className="stack grow">
            Name
            <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
          </label>
          <button type="submit" disabled={busy || !name.trim() || name === org.name}>
            Rename
          </button>
        </form>
      )}
      {admin && (
        <div className="stack">
          <h3>Four eyes</h3>
          <p className="muted">
            Approving, releasing or paying an amount at or above the threshold needs a second member: the first approval waits until another member gives theirs.
          </p>
          {thresholds.length === 0 ? (
            <p>No threshold: one member’s approval is enough.</p>
          ) : (
            <ul>
              {thresholds.map(([c, a]) => (
                <li key={c} className="row wrap">
                  <span>
                    {c}: two members from <strong>{formatMoney(a, c)}</strong>
                  </span>
                  <button
                    type="button"
                    className="secondary"
                    disabled={busy}
                    onClick={() => void run(() => patch({ approvalThreshold: Object.fromEntries(thresholds.filter(([x]) => x !== c)) }), `No threshold in ${c} any more.`)}
                  >
                    Remove
                  </button>
                </li>
              ))}
            </ul>
          )}
          <form className="row wrap" onSubmit={setFourEyes} aria-label="Set a four-eyes threshold">
            <label className="stack">
              Currency
              <input value={currency} onChange={(e) => setCurrency(e.target.value.toUpperCase())} pattern="[A-Z]{3}" maxLength={3} required size={4} />
            </label>
            <label className="stack">
              From amount
              <input value={threshold} onChange={(e) => setThreshold(e.target.value)} inputMode="decimal" required size={10} />
            </label>
            <button type="submit" disabled={busy}>
              Set threshold
            </button>
          </form>
        </div>
      )}
      {finance && (
        <form className="stack" onSubmit={(e) => { e.preventDefault(); void run(() => ok(tranche.PUT('/v1/organizations/{id}/payment-method', { params: { path: { id: org.id } }, body: { paymentMethod: card } })), `Saved: ${cardName(card)} pays for ${org.name}.`); }}>
          <h3>Payment method</h3>
          <p className="muted">
            Now: <strong>{cardName(org.defaultPaymentMethod)}</strong>. Funding and payments that name no card use it.
          </p>
          <label className="stack">
            Card
            <select value={card} onChange={(e) => setCard(e.target.value)}>
              {TEST_CARDS.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
          <div>
            <button type="submit" disabled={busy || card === org.defaultPaymentMethod}>
              Save card
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
