import { useState } from 'react';
import { api, ApiError, type Notification, type Page } from '../api.ts';
import { link } from '../router.ts';
import { formatTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { useNotice } from '../notice.tsx';
import { useLiveReload } from '../features/live/live.tsx';

export function NotificationsPage({ onUnauthenticated }: { onUnauthenticated: () => void }) {
  const notice = useNotice();
  const [busy, setBusy] = useState(false);
  const { data, loading, reload } = useLoad(() => api.get<Page<Notification>>('/v1/notifications?limit=100'), onUnauthenticated);
  // New notifications and reads (here or in another tab) show as they happen.
  useLiveReload(reload, (e) => e.type === 'notification' || e.type === 'read');
  const items = data?.data ?? [];
  const unread = items.filter((n) => !n.readAt).length;

  const markRead = async (ids?: string[]) => {
    setBusy(true);
    try {
      await api.post('/v1/notifications/read', ids ? { ids } : {});
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) onUnauthenticated();
      else notice.error(e);
    } finally {
      setBusy(false);
      await reload();
    }
  };

  return (
    <section aria-labelledby="notifications-title" aria-busy={loading || busy}>
      <div className="row between">
        <h1 id="notifications-title">Notifications</h1>
        {unread > 0 && (
          <button type="button" className="secondary" onClick={() => void markRead()} disabled={busy}>
            Mark all as read
          </button>
        )}
      </div>
      {data && items.length === 0 && <p className="muted">No notifications.</p>}
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
                {n.contractId && (
                  <a href={`/contracts/${n.contractId}`} onClick={link(`/contracts/${n.contractId}`)}>
                    Open contract
                  </a>
                )}
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
