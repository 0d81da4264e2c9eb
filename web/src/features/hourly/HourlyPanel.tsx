import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Contract, type Page } from '../../api.ts';
import { keys } from '../../app/query.ts';
import { formatMoney } from '../../money.ts';
import { useNotice } from '../../notice.tsx';
import { Invoices } from './Invoices.tsx';
import { MilestoneRequests } from './MilestoneRequests.tsx';
import { TimesheetCard } from './Timesheet.tsx';
import { hours, type HourlyOverview, type Invoice, type MilestoneRequest, type Role } from './types.ts';

/** Runs an action and says how it went: `success` may read the action's answer. */
export type Act = (action: () => Promise<unknown>, success: string | ((result: unknown) => string)) => Promise<boolean>;

/**
 * An hourly contract's own sections, shown above its milestones: the overview (this week's
 * hours against the limit, invoiced, paid, in escrow), the Milestone Requests, the timesheet
 * and the invoices. Each change refreshes everything of the contract (a request accepted adds a milestone).
 */
export function HourlyPanel({ contract, role }: { contract: Contract; role: Role }) {
  const notice = useNotice();
  const qc = useQueryClient();
  const base = `/v1/contracts/${encodeURIComponent(contract.id)}`;
  // Under the contract's key: the live stream refreshes it with everything else of the contract.
  const { data } = useQuery({
    queryKey: keys.contractPart(contract.id, 'hourly'),
    queryFn: async () => {
      const [overview, requests, invoices] = await Promise.all([
        api.get<HourlyOverview>(`${base}/hourly`),
        api.get<Page<MilestoneRequest>>(`${base}/milestone-requests`),
        api.get<Page<Invoice>>(`${base}/invoices`),
      ]);
      return { overview, requests: requests.data, invoices: invoices.data };
    },
  });
  const act: Act = async (action, success) => {
    try {
      const result = await action();
      notice.info(typeof success === 'function' ? success(result) : success);
      return true;
    } catch (e) {
      notice.error(e, { currency: contract.currency });
      return false;
    } finally {
      await qc.invalidateQueries({ queryKey: keys.contract(contract.id) });
    }
  };
  if (!data) return <p aria-busy="true">Loading hours…</p>;
  const cur = contract.currency;
  const week = data.overview.thisWeek;
  const live = contract.status === 'active';
  return (
    <div className="stack-lg">
      <section aria-labelledby="hourly-title" className="card">
        <h2 id="hourly-title">Hours and invoices</h2>
        <dl className="overview">
          <div>
            <dt>This week</dt>
            <dd data-testid="week-total">
              {hours(week.loggedMinutes)}
              {week.weeklyLimitHours !== null && ` of ${week.weeklyLimitHours}:00 h`}
            </dd>
          </div>
          <div>
            <dt>Rate</dt>
            <dd>{formatMoney(week.hourlyRate, cur)}/h</dd>
          </div>
          <div>
            <dt>Invoiced</dt>
            <dd>{formatMoney(data.overview.invoiced, cur)}</dd>
          </div>
          <div>
            <dt>Paid</dt>
            <dd>{formatMoney(data.overview.paid, cur)}</dd>
          </div>
          <div>
            <dt>In escrow</dt>
            <dd>{formatMoney(data.overview.inEscrow, cur)}</dd>
          </div>
        </dl>
        {week.unbilledMinutes > 0 && (
          <p className="note warn" role="status">
            {hours(week.unbilledMinutes)} this week are past the weekly limit: they stay on the timesheet but are not billed.
          </p>
        )}
        {data.overview.pastDue > 0 && <p className="note warn">{formatMoney(data.overview.pastDue, cur)} is past due.</p>}
      </section>
      <MilestoneRequests contract={contract} role={role} live={live} requests={data.requests} act={act} />
      <TimesheetCard contract={contract} role={role} live={live} act={act} />
      <Invoices invoices={data.invoices} role={role} act={act} />
    </div>
  );
}
