import { keepPreviousData, useInfiniteQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import type { Contract } from '../../api.ts';
import { ok, tranche } from '../../app/client.ts';
import { keys } from '../../app/query.ts';
import { roleWord, statusWord } from '../../app/words.ts';
import { formatMoney } from '../../money.ts';
import { nextAction, otherParty, type NextAction } from './next-action.ts';
import './contracts.css';

/** Contracts per page of the list. */
const PAGE = 50;

const STATUSES = ['proposal', 'active', 'closed', 'withdrawn', 'declined'] as const;
const SORTS = {
  action: 'Needs my action first',
  newest: 'Newest first',
  updated: 'Last changed first',
  title: 'Title, A to Z',
  escrow: 'Most in escrow',
} as const;
type Sort = keyof typeof SORTS;
/** The API's order for each choice; "needs my action" is the newest first, then those waiting for me moved up here. */
const API_SORT = { action: 'created_desc', newest: 'created_desc', updated: 'updated_desc', title: 'title_asc', escrow: 'escrow_desc' } as const;
type Status = (typeof STATUSES)[number];

/** Every contract of the signed-in person, with the other party, money, status and what to do next. */
export function ContractsPage() {
  const [params, setParams] = useSearchParams();
  const status = (STATUSES as readonly string[]).includes(params.get('status') ?? '') ? (params.get('status') as Status) : undefined;
  const role = params.get('role') === 'client' || params.get('role') === 'contractor' ? (params.get('role') as 'client' | 'contractor') : undefined;
  const q = params.get('q') ?? '';
  // What is typed lives here, at once; the address (and the API's search) follows once typing pauses.
  // A field bound to the address itself loses keys typed before the router has caught up.
  const [typed, setTyped] = useState(q);
  const sort: Sort = (params.get('sort') as Sort) in SORTS ? (params.get('sort') as Sort) : 'action';
  const set = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
  };

  // The search goes to the API (title, or the other party's name or email) once typing pauses.
  const settled = useDebounced(typed, 250);
  useEffect(() => {
    if (settled !== q) set('q', settled);
  }, [settled]); // eslint-disable-line react-hooks/exhaustive-deps
  const search = q.trim();
  const filters = { status, role, q: search, sort: API_SORT[sort] };
  // Pages of 50, and "Show more" for the next one (the API's cursor).
  const list = useInfiniteQuery({
    queryKey: keys.contracts(filters),
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      ok(
        tranche.GET('/v1/contracts', {
          params: { query: { limit: PAGE, sort: API_SORT[sort], ...(status && { status }), ...(role && { role }), ...(search && { q: search }), ...(pageParam && { cursor: pageParam }) } },
        }),
      ),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    placeholderData: keepPreviousData,
  });
  const items = useMemo(() => {
    const out = (list.data?.pages.flatMap((p) => p.data) ?? []).map((contract) => ({ contract, next: nextAction(contract) }));
    // The API sorted them; "needs my action first" moves what waits for me up, keeping that order otherwise.
    return sort === 'action' ? [...out].sort((a, b) => Number(b.next?.mine ?? false) - Number(a.next?.mine ?? false)) : out;
  }, [list.data, sort]);

  const filtered = Boolean(status || role || q || typed);
  return (
    <section aria-labelledby="contracts-title" aria-busy={list.isPending} className="stack">
      <div className="row between wrap">
        <h1 id="contracts-title">Contracts</h1>
        <Link to="/contracts/new" className="button">
          New contract
        </Link>
      </div>

      {(items.length > 0 || filtered) && (
        <form className="filters" role="search" aria-label="Find contracts" onSubmit={(e) => e.preventDefault()}>
          <label>
            Search
            <input type="search" placeholder="Title, other party’s name or email" value={typed} onChange={(e) => setTyped(e.target.value)} />
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
      {list.data && items.length === 0 && !filtered && (
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
          <button
            type="button"
            className="secondary"
            onClick={() => {
              setTyped('');
              setParams(new URLSearchParams(), { replace: true });
            }}
          >
            Clear the filters
          </button>
        </div>
      )}
      {items.length > 0 && <ContractTable items={items} />}
      {list.hasNextPage && (
        <div>
          <button type="button" className="secondary" disabled={list.isFetchingNextPage} onClick={() => void list.fetchNextPage()}>
            {list.isFetchingNextPage ? 'Loading…' : 'Show more contracts'}
          </button>
        </div>
      )}
    </section>
  );
}

function ContractTable({ items }: { items: { contract: Contract; next: NextAction | null }[] }) {
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
        {items.map(({ contract: c, next }) => {
          const overview = c.overview;
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
              <td data-label="Other party">{otherParty(c).name}</td>
              <td data-label="My role">{c.viewerRole ? roleWord(c.viewerRole) : '—'}</td>
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

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}
