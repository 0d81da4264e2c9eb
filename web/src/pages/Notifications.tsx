import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { ok, tranche } from '../app/client.ts';
import { keys } from '../app/query.ts';
import { formatTime } from '../format.ts';
import { useNotice } from '../notice.tsx';

/** In-app notifications, newest first; new ones and reads (here or in another tab) show live (features/live/invalidate.ts). */
export function NotificationsPage() {
  const notice = useNotice();
  const qc = useQueryClient();
  const [busy, setBusy] = useState(false);
  const q = useQuery({ queryKey: keys.notifications, queryFn: () => ok(tranche.GET('/v1/notifications', { params: { query: { limit: 100 } } })) });
  const items = q.data?.data ?? [];
  const unread = items.filter((n) => !n.readAt).length;

  const markRead = async (ids?: string[]) => {
    setBusy(true);
    try {
      await ok(tranche.POST('/v1/notifications/read', { body: ids ? { ids } : {} }));
    } catch (e) {
      notice.error(e);
    } finally {
      setBusy(false);
      await qc.invalidateQueries({ queryKey: keys.notifications });
    }
  };

  return (
    <section aria-labelledby="notifications-title" aria-busy={q.isPending || busy} className="stack">
      <div className="row between">
        <h1 id="notifications-title">Notifications</h1>
        {unread > 0 && (
          <button type="button" className="secondary" onClick={() => void markRead()} disabled={busy}>
            Mark all as read
          </button>
        )}
      </div>
      {q.data && items.length === 0 && (
        <div className="card empty">
          <h2>No notifications</h2>
          <p className="muted">You are told here when the other party acts on one of your contracts.</p>
          <Link to="/" className="button secondary">
            Go to your contracts
          </Link>
        </div>
      )}
      {items.length > 0 && (
        <ul className="notifications">
          {items.map((n) => (
            <li key={n.id} className={n.readAt ? 'card' : 'card unread'} aria-label={`${n.readAt ? '' : 'Unread: '}${n.title}`}>
              <div className="row between wrap">
                <strong>{n.title}</strong>
                <time dateTime={n.createdAt} className="muted">
                  {formatTime(n.createdAt)}
                </time>
              </div>
              <p>{n.body}</p>
              <div className="row">
                {n.contractId && <Link to={`/contracts/${n.contractId}`}>Open contract</Link>}
                {!n.readAt && (
                  <button type="button" className="link" onClick={() => void markRead([n.id])} disabled={busy}>
                    Mark as read
                  </button>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
