import { api, type Notification, type Page } from '../api.ts';
import { link } from '../router.ts';
import { formatTime } from '../format.ts';
import { useLoad } from '../hooks.ts';

export function NotificationsPage({ onUnauthenticated }: { onUnauthenticated: () => void }) {
  const { data, loading, reload } = useLoad(() => api.get<Page<Notification>>('/v1/notifications?limit=100'), onUnauthenticated);
  const items = data?.data ?? [];
  return (
    <section aria-labelledby="notifications-title" aria-busy={loading}>
      <div className="row between">
        <h1 id="notifications-title">Notifications</h1>
        <button type="button" className="secondary" onClick={() => void reload()} disabled={loading}>
          Refresh
        </button>
      </div>
      {data && items.length === 0 && <p className="muted">No notifications.</p>}
      {items.length > 0 && (
        <ul className="notifications">
          {items.map((n) => (
            <li key={n.id} className={n.readAt ? 'card' : 'card unread'}>
              <div className="row between wrap">
                <strong>{n.title}</strong>
                <time dateTime={n.createdAt} className="muted">
                  {formatTime(n.createdAt)}
                </time>
              </div>
              <p>{n.body}</p>
              {n.contractId && (
                <a href={`/contracts/${n.contractId}`} onClick={link(`/contracts/${n.contractId}`)}>
                  Open contract
                </a>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
