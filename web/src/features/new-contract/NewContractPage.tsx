import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { useTitle } from '../../app/page.ts';
import { useMe } from '../../app/session.tsx';
import { PRESET_WORDS, type PresetName } from '../../app/words.ts';
import { useMoney } from '../../hooks.ts';
import { useNotice } from '../../notice.tsx';
import { sendOffer } from './offer.ts';
import './new-contract.css';

const CURRENCIES = ['USD', 'EUR', 'GBP', 'CAD', 'AUD', 'CHF', 'JPY', 'SEK', 'INR', 'BRL'];
const FIXED_PRESETS: PresetName[] = ['sequential_escrow', 'client_creates', 'contractor_creates', 'accept_every_change', 'company_managed'];
const HOURLY_PRESETS: PresetName[] = ['hourly_requests'];

type Row = { key: number; title: string; amount: string; dueDate: string };

const inDays = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);

/** Start a contract: an offer to the other party, who accepts or declines it on the contract page. */
export function NewContractPage() {
  useTitle('New contract');
  const me = useMe();
  const notice = useNotice();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [myRole, setMyRole] = useState<'client' | 'contractor'>('client');
  const [otherEmail, setOtherEmail] = useState('');
  const [type, setType] = useState<'fixed' | 'hourly'>('fixed');
  const [currency, setCurrency] = useState('USD');
  const [preset, setPreset] = useState<PresetName>('sequential_escrow');
  const [rate, setRate] = useState('');
  const [limit, setLimit] = useState('');
  const [rows, setRows] = useState<Row[]>([{ key: 1, title: '', amount: '', dueDate: inDays(14) }]);
  const [busy, setBusy] = useState(false);
  const [problems, setProblems] = useState<string[]>([]);
  const money = useMoney(currency);
  const presets = type === 'hourly' ? HOURLY_PRESETS : FIXED_PRESETS;
  const other = myRole === 'client' ? 'contractor' : 'client';

  const chooseType = (t: 'fixed' | 'hourly') => {
    setType(t);
    setPreset(t === 'hourly' ? 'hourly_requests' : 'sequential_escrow');
  };
  const setRow = (key: number, patch: Partial<Row>) => setRows(rows.map((r) => (r.key === key ? { ...r, ...patch } : r)));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    // Checked here first, in words, so that nothing half-valid reaches the server.
    const found: string[] = [];
    const filled = rows.filter((r) => r.title.trim() || r.amount.trim());
    const milestones = filled.map((r, i) => {
      const amount = money.parse(r.amount);
      if (!r.title.trim()) found.push(`Milestone ${i + 1} needs a title.`);
      if (amount === null || amount <= 0) found.push(`Milestone ${i + 1}: enter an amount in ${currency}, like ${money.placeholder.replace(/0$/, '5')}.`);
      if (!r.dueDate) found.push(`Milestone ${i + 1} needs a due date.`);
      return { title: r.title.trim(), amount: amount ?? 0, dueDate: r.dueDate };
    });
    const hourlyRate = type === 'hourly' ? money.parse(rate) : null;
    if (type === 'hourly' && (hourlyRate === null || hourlyRate <= 0)) found.push(`Enter the hourly rate in ${currency}.`);
    const weekly = limit.trim() ? Number(limit) : null;
    if (weekly !== null && (!Number.isInteger(weekly) || weekly < 1 || weekly > 168)) found.push('The weekly limit is a whole number of hours between 1 and 168, or empty for no limit.');
    if (otherEmail.trim().toLowerCase() === me.email.toLowerCase()) found.push(`Enter the ${other}’s email, not your own.`);
    setProblems(found);
    if (found.length) return;
    setBusy(true);
    try {
      const c = await sendOffer(me.id, { title, description, myRole, otherEmail, type, currency, preset, hourlyRate, weeklyLimitHours: weekly, milestones });
      void qc.invalidateQueries({ queryKey: ['contracts'] });
      void navigate(`/contracts/${c.id}`, { state: { notice: `Your offer was sent to ${otherEmail.trim()}. It becomes active when they accept it.` } });
    } catch (err) {
      notice.error(err, { currency });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="new-title" className="stack">
      <h1 id="new-title">New contract</h1>
      <p className="muted">You make an offer; the other party sees it and accepts or declines it. Nothing is charged until work is agreed.</p>
      <form className="stack-lg new-contract" onSubmit={submit} noValidate={false}>
        {problems.length > 0 && (
          <div className="notice error" role="alert">
            <ul>
              {problems.map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          </div>
        )}
        <fieldset className="card stack">
          <legend>The work</legend>
          <label>
            Title
            <input required maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} placeholder="e.g. Website relaunch" />
          </label>
          <label>
            Description (optional)
            <textarea rows={3} maxLength={5000} value={description} onChange={(e) => setDescription(e.target.value)} />
          </label>
        </fieldset>

        <fieldset className="card stack">
          <legend>The parties</legend>
          <div role="radiogroup" aria-label="I am the" className="option-cards two">
            <Choice name="role" value="client" checked={myRole === 'client'} onChange={() => setMyRole('client')} title="I am the client" text="I pay for the work." />
            <Choice name="role" value="contractor" checked={myRole === 'contractor'} onChange={() => setMyRole('contractor')} title="I am the contractor" text="I do the work and get paid." />
          </div>
          <label>
            The {other}’s email
            <input type="email" required autoComplete="email" value={otherEmail} onChange={(e) => setOtherEmail(e.target.value)} />
          </label>
        </fieldset>

        <fieldset className="card stack">
          <legend>Terms</legend>
          <div role="radiogroup" aria-label="Type of contract" className="option-cards two">
            <Choice name="type" value="fixed" checked={type === 'fixed'} onChange={() => chooseType('fixed')} title="Fixed price" text="Paid by milestone, for agreed pieces of work." />
            <Choice name="type" value="hourly" checked={type === 'hourly'} onChange={() => chooseType('hourly')} title="Hourly" text="Hours are logged and invoiced every week." />
          </div>
          <label className="short">
            Currency
            <select value={currency} onChange={(e) => setCurrency(e.target.value)}>
              {CURRENCIES.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </label>
          {type === 'hourly' && (
            <div className="row wrap gap">
              <label>
                {money.label('Hourly rate')}
                <input inputMode="decimal" required value={rate} onChange={(e) => setRate(e.target.value)} placeholder={money.placeholder} />
              </label>
              <label>
                Weekly limit (hours, optional)
                <input inputMode="numeric" value={limit} onChange={(e) => setLimit(e.target.value)} placeholder="No limit" />
              </label>
            </div>
          )}
        </fieldset>

        <fieldset className="card stack">
          <legend>How you work together</legend>
          <div role="radiogroup" aria-label="How you work together" className="option-cards">
            {presets.map((p) => (
              <Choice key={p} name="preset" value={p} checked={preset === p} onChange={() => setPreset(p)} title={PRESET_WORDS[p].name} text={PRESET_WORDS[p].explain} />
            ))}
          </div>
        </fieldset>

        {type === 'fixed' && (
          <fieldset className="card stack">
            <legend>Milestones (optional, you can add them later)</legend>
            <ol className="milestone-rows">
              {rows.map((r, i) => (
                <li key={r.key} className="milestone-row" aria-label={`Milestone ${i + 1}`}>
                  <label>
                    Title
                    <input value={r.title} onChange={(e) => setRow(r.key, { title: e.target.value })} />
                  </label>
                  <label>
                    {money.label('Amount')}
                    <input inputMode="decimal" value={r.amount} placeholder={money.placeholder} onChange={(e) => setRow(r.key, { amount: e.target.value })} />
                  </label>
                  <label>
                    Due date
                    <input type="date" value={r.dueDate} onChange={(e) => setRow(r.key, { dueDate: e.target.value })} />
                  </label>
                  <button type="button" className="link" aria-label={`Remove milestone ${i + 1}`} onClick={() => setRows(rows.filter((x) => x.key !== r.key))}>
                    Remove
                  </button>
                </li>
              ))}
            </ol>
            <div>
              <button type="button" className="secondary" onClick={() => setRows([...rows, { key: Math.max(0, ...rows.map((x) => x.key)) + 1, title: '', amount: '', dueDate: inDays(28) }])}>
                Add a milestone
              </button>
            </div>
          </fieldset>
        )}

        <div className="row end">
          <button type="submit" disabled={busy}>
            {busy ? 'Sending…' : 'Send offer'}
          </button>
        </div>
      </form>
    </section>
  );
}

function Choice({ name, value, checked, onChange, title, text }: { name: string; value: string; checked: boolean; onChange: () => void; title: string; text: string }) {
  return (
    <label className={checked ? 'option-card checked' : 'option-card'}>
      <input type="radio" name={name} value={value} checked={checked} onChange={onChange} />
      <span>
        <strong>{title}</strong>
        <span className="muted">{text}</span>
      </span>
    </label>
  );
}
