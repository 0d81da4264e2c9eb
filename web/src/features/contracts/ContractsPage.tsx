import { useQueries, useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { Link, useSearchParams } from 'react-router';
import type { Contract, User } from '../../api.ts';
import { ok, tranche } from '../../app/client.ts';
import { contractQuery } from '../../app/queries.ts';
import { keys } from '../../app/query.ts';
import { nextActionWord, roleWord, statusWord } from '../../app/words.ts';
import { formatMoney } from '../../money.ts';
import { nextAction, otherParty, roleOf, type ListItem, type NextAction } from './next-action.ts';
import './contracts.css';

const STATUSES = ['proposal', 'active', 'closed', 'withdrawn', 'declined'] as const;
const SORTS = {
  action: 'Needs my action first',
  newest: 'Newest first',
  oldest: 'Oldest first',
  title: 'Title, A to Z',
  escrow: 'Most in escrow',
} as const;
type Sort = keyof typeof SORTS;
type Status = (typeof STATUSES)[number];

/** Every contract of the signed-in person, with the other party, money, status and what to do next. */
export function ContractsPage({ me }: { me: User }) {
  const [params, setParams] = useSearchParams();
  const status = (STATUSES as readonly string[]).includes(params.get('status') ?? '') ? (params.get('status') as Status) : undefined;
  const role = params.get('role') === 'client' || params.get('role') === 'contractor' ? (params.get('role') as 'client' | 'contractor') : undefined;
  const q = params.get('q') ?? '';
  const sort: Sort = (params.get('sort') as Sort) in SORTS ? (params.get('sort') as Sort) : 'action';
  const set = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
  };

  const filters = { status, role };
  const list = useQuery({
    queryKey: keys.contracts(filters),
    queryFn: () => ok(tranche.GET('/v1/contracts', { params: { query: { limit: 100, ...(status && { status }), ...(role && { role }) } } })),
  });
  const contracts = list.data?.data ?? [];
  // Amounts and milestones: from each contract's page, shared with the contract page's cache.
  const details = useQueries({
    // Only what the list item lacks: its overview, or (without the API's nextAction) the milestones to say what comes next.
    queries: contracts.map((c) => ({ ...contractQuery(c.id), enabled: c.overview === undefined || (c.status === 'active' && !('nextAction' in c)) })),
  });

  const items = useMemo(() => {
    const out: (ListItem & { next: NextAction | null })[] = contracts.map((c, i) => {
      const detail = details[i]?.data ?? null;
      const r = roleOf(c, me.id);
      const other = otherParty(detail ?? c, r);
      const otherName = other?.name ?? (r === 'client' ? 'the contractor' : 'the client');
      const derived = nextAction(c, r, me.id, detail?.milestones ?? c.milestones, otherName);
      // The API's own next action when it sends one; what the other party is doing is said from the milestones.
      const fromApi = (c as { nextAction?: string | null }).nextAction;
      const next =
        fromApi === undefined
          ? derived
          : fromApi
            ? { text: nextActionWord(fromApi), mine: true }
            : derived && !derived.mine && derived.text !== 'Open to see'
              ? derived
              : c.status === 'active'
                ? { text: waitingText(r, otherName, (detail ?? c).overview?.inEscrow ?? 0), mine: false }
                : null;
      return { contract: c, role: r, other, detail, next };
    });
    const needle = q.trim().toLowerCase();
    const shown = needle ? out.filter((it) => it.contract.title.toLowerCase().includes(needle) || (it.other?.name.toLowerCase().includes(needle) ?? false)) : out;
    const escrow = (it: ListItem) => (it.detail ?? it.contract).overview?.inEscrow ?? 0;
    const by: Record<Sort, (a: (typeof out)[number], b: (typeof out)[number]) => number> = {
      action: (a, b) => Number(b.next?.mine ?? false) - Number(a.next?.mine ?? false) || b.contract.createdAt.localeCompare(a.contract.createdAt),
      newest: (a, b) => b.contract.createdAt.localeCompare(a.contract.createdAt),
      oldest: (a, b) => a.contract.createdAt.localeCompare(b.contract.createdAt),
      title: (a, b) => a.contract.title.localeCompare(b.contract.title),
      escrow: (a, b) => escrow(b) - escrow(a),
    };
    return [...shown].sort(by[sort]);
  }, [contracts, details, me.id, q, sort]);

  const filtered = Boolean(status || role || q);
  return (
    <section aria-labelledby="contracts-title" aria-busy={list.isPending} className="stack">
      <div className="row between wrap">
        <h1 id="contracts-title">Contracts</h1>
        <Link to="/contracts/new" className="button">
          New contract
        </Link>
      </div>

      {(contracts.length > 0 || filtered) && (
        <form className="filters" role="search" aria-label="Find contracts" onSubmit={(e) => e.preventDefault()}>
          <label>
            Search
            <input type="search" placeholder="Title or other party" value={q} onChange={(e) => set('q', e.target.value)} />
          </label>
          <label>
            Status
            <select value={status ?? ''} onChange={(e) => set('status', e.target.value)}>
              <option value="">Any status</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {statusWord(s)}
                </option>
              ))}
            </select>
          </label>
          <label>
            My role
            <select value={role ?? ''} onChange={(e) => set('role', e.target.value)}>
              <option value="">Client or contractor</option>
              <option value="client">Client</option>
              <option value="contractor">Contractor</option>
            </select>
          </label>
          <label>
            Sort
            <select value={sort} onChange={(e) => set('sort', e.target.value === 'action' ? '' : e.target.value)}>
              {Object.entries(SORTS).map(([k, label]) => (
                <option key={k} value={k}>
                  {label}
                </option>
              ))}
            </select>
          </label>
        </form>
      )}

      {list.isError && <p className="muted">The contracts could not be loaded.</p>}
      {list.data && contracts.length === 0 && !filtered && (
        <div className="card empty">
          <h2>No contracts yet</h2>
          <p className="muted">Start one: make an offer to your client or contractor by email. They accept it, and you work through milestones together.</p>
          <Link to="/contracts/new" className="button">
            Start a contract
          </Link>
        </div>
      )}
      {list.data && items.length === 0 && filtered && (
        <div className="card empty">
          <h2>No contracts match</h2>
          <p className="muted">Nothing matches these filters.</p>
          <button type="button" className="secondary" onClick={() => setParams(new URLSearchParams(), { replace: true })}>
            Clear the filters
          </button>
        </div>
      )}
      {items.length > 0 && <ContractTable items={items} />}
    </section>
  );
}

/** Nothing waits for the signed-in person: say what the other party is doing, as far as the amounts tell. */
function waitingText(role: 'client' | 'contractor' | null, other: string, inEscrow: number): string {
  if (role === 'client') return inEscrow > 0 ? `Waiting for ${other}’s work` : 'Nothing waits for you';
  return `Waiting for ${other}`;
}

function ContractTable({ items }: { items: (ListItem & { next: NextAction | null })[] }) {
  return (
    <table className="table cards contracts-table">
      <caption className="sr-only">Your contracts</caption>
      <thead>
        <tr>
          <th scope="col">Contract</th>
          <th scope="col">Other party</th>
          <th scope="col">My role</th>
          <th scope="col">Status</th>
          <th scope="col" className="num">
            In escrow
          </th>
          <th scope="col" className="num">
            Paid
          </th>
          <th scope="col">Next action</th>
        </tr>
      </thead>
      <tbody>
        {items.map(({ contract: c, role, other, detail, next }) => {
          const overview = (detail ?? c).overview;
          const money = (n: number | undefined) => (n === undefined ? '…' : formatMoney(n, c.currency));
          return (
            <tr key={c.id}>
              <td className="primary" data-label="">
                <span>
                  <Link to={`/contracts/${c.id}`}>{c.title}</Link>
                  {c.unreadMessages > 0 && (
                    <span className="badge unread-count" aria-label={`${c.unreadMessages} unread messages`}>
                      {c.unreadMessages}
                    </span>
                  )}
                  <span className="muted small"> · {c.type === 'hourly' ? 'Hourly' : 'Fixed price'}, {c.currency}</span>
                </span>
              </td>
              <td data-label="Other party">{other?.name ?? <span className="muted">—</span>}</td>
              <td data-label="My role">{role ? roleWord(role) : '—'}</td>
              <td data-label="Status">
                <span className={`badge s-${c.status}`}>{statusWord(c.status)}</span>
              </td>
              <td data-label="In escrow" className="num">
                {money(overview?.inEscrow)}
              </td>
              <td data-label="Paid" className="num">
                {money(overview?.paid)}
              </td>
              <td data-label="Next action">{next ? <span className={next.mine ? 'next mine' : 'next'}>{next.text}</span> : <span className="muted">—</span>}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
