import { api, type Contract, type Page, type User } from '../../api.ts';
import { link } from '../../router.ts';
import { statusLabel } from '../../format.ts';
import { useLoad } from '../../hooks.ts';
import { useLiveReload } from '../../features/live/live.tsx';

export function ContractsPage({ me, onUnauthenticated }: { me: User; onUnauthenticated: () => void }) {
  const { data, loading, reload } = useLoad(() => api.get<Page<Contract>>('/v1/contracts?limit=100'), onUnauthenticated);
  // Statuses and unread counts change as either party acts or writes.
  useLiveReload(reload, (e) => e.type === 'activity' || e.type === 'message' || (e.type === 'read' && e.contractId !== null));
  const contracts = data?.data ?? [];
  return (
    <section aria-labelledby="contracts-title" aria-busy={loading}>
      <div className="row between">
        <h1 id="contracts-title">Contracts</h1>
      </div>
      {data && contracts.length === 0 && <p className="muted">No contracts yet.</p>}
      {contracts.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Contract</th>
              <th scope="col">Your role</th>
              <th scope="col">Status</th>
              <th scope="col">Type</th>
              <th scope="col">Currency</th>
            </tr>
          </thead>
          <tbody>
            {contracts.map((c) => (
              <tr key={c.id}>
                <td>
                  <a href={`/contracts/${c.id}`} onClick={link(`/contracts/${c.id}`)}>
                    {c.title}
                  </a>
                  {c.unreadMessages > 0 && (
                    <span className="badge unread-count" aria-label={`${c.unreadMessages} unread messages`}>
                      {c.unreadMessages}
                    </span>
                  )}
                </td>
                <td>{c.clientId === me.id ? 'Client' : c.contractorId === me.id ? 'Contractor' : '—'}</td>
                <td>
                  <span className={`badge s-${c.status}`}>{statusLabel(c.status)}</span>
                </td>
                <td>{c.type}</td>
                <td>{c.currency}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
