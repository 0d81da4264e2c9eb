import { useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type { User } from '../../api.ts';
import { ok, tranche } from '../../app/client.ts';
import { keys } from '../../app/query.ts';
import type { Me } from '../../app/session.tsx';
import { cardName, TEST_CARDS } from '../../app/words.ts';
import { useNotice } from '../../notice.tsx';

/** The card that funds escrow and pays drafts. The sandbox's test cards are offered by name. */
export function PaymentMethod({ me }: { me: User }) {
  const notice = useNotice();
  const qc = useQueryClient();
  const [choice, setChoice] = useState<string>(me.defaultPaymentMethod ?? 'pm_card_ok');
  const [busy, setBusy] = useState(false);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const user = await ok(tranche.PUT('/v1/me/payment-method', { body: { paymentMethod: choice } }));
      qc.setQueryData<Me>(keys.me, (old) => (old ? { ...old, user } : old));
      notice.info(`Saved: ${cardName(user.defaultPaymentMethod)} pays from now on.`);
    } catch (err) {
      notice.error(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card stack" onSubmit={save} aria-labelledby="card-title">
      <h2 id="card-title">Payment method</h2>
      <p className="muted">
        Now: <strong>{cardName(me.defaultPaymentMethod)}</strong>. This platform runs the sandbox payment provider: choose one of its test cards.
      </p>
      <fieldset className="option-cards">
        <legend className="sr-only">Card</legend>
        {TEST_CARDS.map((c) => (
          <label key={c.id} className={choice === c.id ? 'option-card checked' : 'option-card'}>
            <input type="radio" name="card" value={c.id} checked={choice === c.id} onChange={() => setChoice(c.id)} />
            <span>
              <strong>{c.name}</strong>
              <span className="muted">{c.explain}</span>
            </span>
          </label>
        ))}
      </fieldset>
      <div>
        <button type="submit" disabled={busy || choice === me.defaultPaymentMethod}>
          Save card
        </button>
      </div>
    </form>
  );
}
