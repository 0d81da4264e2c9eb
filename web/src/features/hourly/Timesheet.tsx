import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, type Contract } from '../../api.ts';
import { keys } from '../../app/query.ts';
import { formatDate } from '../../format.ts';
import { formatMoney } from '../../money.ts';
import type { Act } from './HourlyPanel.tsx';
import { addDays, hours, parseDuration, type Role, type TimeEntry, type Timesheet } from './types.ts';

/**
 * The weekly timesheet: the contractor logs, edits and deletes time until the week is
 * invoiced; the client sees the same hours read-only. The week's total is shown against
 * the limit, and time past the limit is marked as not billed.
 */
export function TimesheetCard({ contract, role, live, act }: { contract: Contract; role: Role; live: boolean; act: Act }) {
  const [weekOf, setWeekOf] = useState<string | null>(null); // a Monday; null: this week
  const base = `/v1/contracts/${encodeURIComponent(contract.id)}/time-entries`;
  const query = weekOf ? `?from=${weekOf}&to=${addDays(weekOf, 6)}` : '';
  // Under the contract's key: the live stream refreshes it with everything else of the contract.
  const { data } = useQuery({ queryKey: keys.contractPart(contract.id, 'timesheet', { weekOf }), queryFn: () => api.get<Timesheet>(base + query), placeholderData: (previous) => previous });
  const [editing, setEditing] = useState<string | null>(null);
  if (!data) return <p aria-busy="true">Loading timesheet…</p>;
  const week = data.weeks[0]!;
  const mayEdit = role === 'contractor' && live && !week.closed;
  const done = act;
  return (
    <section aria-labelledby="ts-title" className="card">
      <div className="row between wrap">
        <h2 id="ts-title">Timesheet</h2>
        <span className="row">
          <button type="button" className="secondary" onClick={() => setWeekOf(addDays(week.weekStart, -7))} aria-label="Previous week">
            ←
          </button>
          <span>
            {formatDate(week.weekStart)} – {formatDate(week.weekEnd)}
          </span>
          <button type="button" className="secondary" onClick={() => setWeekOf(addDays(week.weekStart, 7))} aria-label="Next week">
            →
          </button>
        </span>
      </div>
      <p data-testid="timesheet-total">
        <strong>{hours(week.loggedMinutes)}</strong> logged
        {week.weeklyLimitHours !== null ? ` of a ${week.weeklyLimitHours} h weekly limit` : ' (no weekly limit)'} · billable {hours(week.billableMinutes)} ·{' '}
        {formatMoney(week.amount, data.currency)} so far
        {week.unbilledMinutes > 0 && <span className="note warn"> {hours(week.unbilledMinutes)} past the limit, not billed</span>}
        {week.closed && <span className="muted"> · invoiced{week.invoiceStatus ? ` (${week.invoiceStatus.replace('_', ' ')})` : ''}</span>}
      </p>
      {data.data.length === 0 ? (
        <p className="muted">No time logged this week.</p>
      ) : (
        <table className="table cards">
          <thead>
            <tr>
              <th>Date</th>
              <th>Memo</th>
              <th className="num">Time</th>
              {mayEdit && <th>Actions</th>}
            </tr>
          </thead>
          <tbody>
            {data.data.map((e) =>
              editing === e.id ? (
                <tr key={e.id}>
                  <td colSpan={mayEdit ? 4 : 3}>
                    <EntryForm entry={e} onCancel={() => setEditing(null)} submit={(body) => done(() => api.patch(`/v1/time-entries/${e.id}`, { ...body, expectedVersion: e.version }), 'Time entry saved.').then((ok) => ok && setEditing(null))} />
                  </td>
                </tr>
              ) : (
                <tr key={e.id}>
                  <td className="primary">{formatDate(e.date)}</td>
                  <td data-label="Memo">{e.memo}</td>
                  <td className="num" data-label="Time">{hours(e.minutes)}</td>
                  {mayEdit && (
                    <td className="row" data-label="">
                      <button type="button" className="secondary" onClick={() => setEditing(e.id)} aria-label={`Edit entry of ${formatDate(e.date)}`}>
                        Edit
                      </button>
                      <button type="button" className="secondary" onClick={() => void done(() => api.del(`/v1/time-entries/${e.id}`), 'Time entry deleted.')} aria-label={`Delete entry of ${formatDate(e.date)}`}>
                        Delete
                      </button>
                    </td>
                  )}
                </tr>
              ),
            )}
          </tbody>
        </table>
      )}
      {mayEdit && <EntryForm submit={(body) => done(() => api.post(`/v1/contracts/${contract.id}/time-entries`, body), 'Time logged.')} defaultDate={week.weekStart} />}
    </section>
  );
}

function EntryForm({ entry, defaultDate, submit, onCancel }: { entry?: TimeEntry; defaultDate?: string; submit: (body: { date: string; minutes: number; memo: string }) => Promise<unknown>; onCancel?: () => void }) {
  const [date, setDate] = useState(entry?.date ?? (new Date().toISOString().slice(0, 10) >= (defaultDate ?? '') ? new Date().toISOString().slice(0, 10) : defaultDate!));
  const [duration, setDuration] = useState(entry ? hours(entry.minutes).replace(' h', '') : '');
  const [memo, setMemo] = useState(entry?.memo ?? '');
  const [error, setError] = useState<string | null>(null);
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const minutes = parseDuration(duration);
    if (minutes === null || minutes < 1 || minutes > 1440) return setError('Enter the time as h:mm (for example 2:30), hours (2.5) or minutes (150m), at most 24 hours.');
    setError(null);
    if ((await submit({ date, minutes, memo: memo.trim() })) !== false && !entry) {
      setDuration('');
      setMemo('');
    }
  };
  return (
    <form className="row wrap" onSubmit={(e) => void onSubmit(e)} aria-label={entry ? 'Edit time entry' : 'Log time'}>
      <label>
        Date <input type="date" value={date} onChange={(e) => setDate(e.target.value)} required />
      </label>
      <label>
        Time <input value={duration} onChange={(e) => setDuration(e.target.value)} placeholder="2:30" required size={6} aria-describedby={error ? 'entry-error' : undefined} />
      </label>
      <label>
        Memo <input value={memo} onChange={(e) => setMemo(e.target.value)} maxLength={2000} />
      </label>
      <button type="submit">{entry ? 'Save' : 'Log time'}</button>
      {onCancel && (
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      )}
      {error && (
        <p id="entry-error" className="note warn" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
