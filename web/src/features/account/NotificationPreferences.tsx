import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ok, tranche } from '../../app/client.ts';
import { keys } from '../../app/query.ts';
import { eventWords } from '../../app/words.ts';
import { useNotice } from '../../notice.tsx';

/** Email per kind of event, grouped by area; in-app notifications are always kept. */
export function NotificationPreferences() {
  const notice = useNotice();
  const qc = useQueryClient();
  const q = useQuery({ queryKey: keys.notificationPreferences, queryFn: () => ok(tranche.GET('/v1/me/notification-preferences')) });
  const [changes, setChanges] = useState<Record<string, boolean>>({});
  const [busy, setBusy] = useState(false);
  const saved = (q.data?.email ?? {}) as Record<string, boolean>;
  const value = (k: string) => changes[k] ?? saved[k] ?? true;
  const groups = new Map<string, string[]>();
  for (const kind of Object.keys(saved)) {
    const { area } = eventWords(kind);
    groups.set(area, [...(groups.get(area) ?? []), kind]);
  }
  const changed = Object.keys(changes).filter((k) => changes[k] !== saved[k]);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const email = Object.fromEntries(changed.map((k) => [k, changes[k]!]));
      const r = await ok(tranche.PUT('/v1/me/notification-preferences', { body: { email } as never }));
      qc.setQueryData(keys.notificationPreferences, r);
      setChanges({});
      notice.info('Your email preferences are saved.');
    } catch (err) {
      notice.error(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card stack" onSubmit={save} aria-labelledby="prefs-title" aria-busy={q.isPending}>
      <h2 id="prefs-title">Email notifications</h2>
      <p className="muted">Choose what is also emailed to you. Everything stays under Notifications in the app.</p>
      <div className="pref-groups">
        {[...groups].map(([area, kinds]) => (
          <fieldset key={area} className="pref-group">
            <legend>{area}</legend>
            {kinds.map((k) => (
              <label key={k} className="inline-check">
                <input type="checkbox" checked={value(k)} onChange={(e) => setChanges({ ...changes, [k]: e.target.checked })} />
                {eventWords(k).text}
              </label>
            ))}
          </fieldset>
        ))}
      </div>
      <div className="row wrap">
        <button type="submit" disabled={busy || changed.length === 0}>
          Save email preferences
        </button>
        {changed.length > 0 && <span className="muted">{changed.length} change(s) not saved yet</span>}
      </div>
    </form>
  );
}
