import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { ok, tranche } from '../../app/client.ts';
import { formatMoney } from '../../money.ts';
import type { Organization } from './roles.ts';

/** The people the organisation contracts with, with totals from the ledger (seed 000's contractor view). */
export function Contractors({ org }: { org: Organization }) {
  const list = useQuery({
    queryKey: ['organization', org.id, 'contractors'],
    queryFn: () => ok(tranche.GET('/v1/organizations/{id}/contractors', { params: { path: { id: org.id } } })),
  });
  const rows = list.data?.data ?? [];
  return (
    <section className="card stack" aria-labelledby="contractors-title">
      <h2 id="contractors-title">Contractors</h2>
      {list.isPending ? (
        <p className="muted">Loading…</p>
      ) : rows.length === 0 ? (
        <p className="muted">No contracts yet: contracts whose client is {org.name} list their contractors here.</p>
      ) : (
        <table className="table cards">
          <thead>
            <tr>
              <th>Contractor</th>
              <th className="num">In escrow</th>
              <th className="num">Paid</th>
              <th className="num">Pending</th>
            </tr>
          </thead>
          <tbody>
            {rows.flatMap((c) =>
              c.totals.map((t) => (
                <tr key={`${c.userId}-${t.currency}`}>
                  <td data-label="">
                    <Link to={`/organizations/${org.id}/contractors/${c.userId}`}>{c.name}</Link>{' '}
                    <span className="muted">
                      {t.contracts} contract{t.contracts === 1 ? '' : 's'}
                    </span>
                  </td>
                  <td className="num" data-label="In escrow">{formatMoney(t.inEscrow, t.currency)}</td>
                  <td className="num" data-label="Paid">{formatMoney(t.paid, t.currency)}</td>
                  <td className="num" data-label="Pending">{formatMoney(t.pending, t.currency)}</td>
                </tr>
              )),
            )}
          </tbody>
        </table>
      )}
    </section>
  );
}
