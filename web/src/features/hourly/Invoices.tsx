import { api } from '../../api.ts';
import { formatDate } from '../../format.ts';
import { formatMoney } from '../../money.ts';
import type { Act } from './HourlyPanel.tsx';
import { hours, type Invoice, type Role } from './types.ts';

const STATUS: Record<Invoice['status'], string> = { open: 'Open', paid: 'Paid', past_due: 'Past due', void: 'Void' };

/** The weekly invoices: status, amount, how they were paid, the PDF; the client pays a past-due one. */
export function Invoices({ invoices, role, act }: { invoices: Invoice[]; role: Role; act: Act }) {
  return (
    <section aria-labelledby="inv-title" className="card">
      <h2 id="inv-title">Invoices</h2>
      <p className="muted">Invoiced every Monday for the week before; paid on Wednesday from escrowed milestone payments first, then the client’s payment method.</p>
      {invoices.length === 0 ? (
        <p className="muted">No invoices yet.</p>
      ) : (
        <table className="table cards">
          <thead>
            <tr>
              <th>Invoice</th>
              <th>Week</th>
              <th className="num">Hours</th>
              <th className="num">Amount</th>
              <th>Status</th>
              <th>Document</th>
            </tr>
          </thead>
          <tbody>
            {invoices.map((i) => (
              <tr key={i.id}>
                <td className="primary">{i.number}</td>
                <td data-label="Week">
                  {formatDate(i.periodStart)} – {formatDate(i.periodEnd)}
                </td>
                <td className="num" data-label="Hours">
                  {hours(i.billedMinutes)}
                  {i.loggedMinutes > i.billedMinutes && <span className="muted"> of {hours(i.loggedMinutes)}</span>}
                </td>
                <td className="num" data-label="Amount">{formatMoney(i.amountDue, i.currency)}</td>
                <td data-label="Status">
                  {STATUS[i.status]}
                  {i.disputeId && i.status === 'open' && ' (disputed)'}
                  {i.status === 'paid' && i.paidFromEscrow > 0 && <span className="muted"> · {formatMoney(i.paidFromEscrow, i.currency)} from escrow</span>}
                  {i.pendingApproval && <span className="muted"> · paid by one member; another member must pay it too</span>}
                  {i.status === 'past_due' && role === 'client' && (
                    <button
                      type="button"
                      onClick={() =>
                        void act(
                          () => api.post<Invoice>(`/v1/invoices/${i.id}/pay`, {}),
                          (r) => ((r as Invoice).status !== 'paid' && (r as Invoice).pendingApproval ? `Invoice ${i.number} waits for another member of the company to pay it too.` : `Invoice ${i.number} paid.`),
                        )
                      }
                    >
                      Pay now
                    </button>
                  )}
                </td>
                <td data-label="Document">
                  <a href={`/v1/invoices/${i.id}/pdf`} target="_blank" rel="noreferrer">
                    PDF
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
