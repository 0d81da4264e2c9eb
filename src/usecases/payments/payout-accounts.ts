import type { Db, Queryable } from '../../db/client.ts';
import { forbidden } from '../../domain/errors.ts';
import type { AccountStatus } from '../../payments/provider.ts';
import type { Deps, Principal, UseCaseCtx } from '../context.ts';
import { recordUserEvent } from '../record.ts';
import { awaitOperations } from './perform-operation.ts';
import { releaseWaitingTransfers } from './transfers.ts';

/**
 * A contractor's connected account at the provider (Stripe: an Express account), where their
 * releases are transferred. Made once, when they first ask for the onboarding link; its state is
 * what the provider last said (a read when they ask, or account.updated).
 */
export type PayoutAccountRow = {
  platform_id: string;
  provider: string;
  contractor_id: string;
  reference: string;
  transfers_enabled: boolean;
  payouts_enabled: boolean;
  details_submitted: boolean;
  status_event_at: number | null;
  payout_failure: { id: string; amount: number; currency: string; code: string | null; message: string | null; at: string } | null;
  created_at: Date;
  updated_at: Date;
};

/** `none`: no account yet; `onboarding`: details to fill in; `verifying`: submitted, not able to receive money yet; `enabled`: receives transfers. */
export type PayoutAccountStatus = 'none' | 'onboarding' | 'verifying' | 'enabled';

export const statusOf = (a: PayoutAccountRow | undefined): PayoutAccountStatus =>
  !a ? 'none' : a.transfers_enabled ? 'enabled' : a.details_submitted ? 'verifying' : 'onboarding';

export async function payoutAccountOf(q: Queryable, platformId: string, provider: string, contractorId: string): Promise<PayoutAccountRow | undefined> {
  const [row] = await q.query<PayoutAccountRow>('SELECT * FROM payout_accounts WHERE platform_id = $1 AND provider = $2 AND contractor_id = $3', [platformId, provider, contractorId]);
  return row;
}

const system = (platformId: string): Principal => ({ platformId, userId: null, viaAdmin: true, key: 'system' });

/**
 * Records where the account stands (in the caller's transaction); when it can receive transfers,
 * the transfers waiting for it are requested (made after commit by the caller). `eventAt`: the
 * provider's time of the event that said so — an older event than the last applied changes nothing.
 */
export async function applyAccountStatus(ctx: UseCaseCtx, reference: string, status: AccountStatus, eventAt: number | null): Promise<string> {
  const [a] = await ctx.tx.query<PayoutAccountRow>(
    `UPDATE payout_accounts SET transfers_enabled = $3, payouts_enabled = $4, details_submitted = $5, status_event_at = COALESCE($6, status_event_at), updated_at = $7
     WHERE provider = $1 AND reference = $2 AND ($6::bigint IS NULL OR status_event_at IS NULL OR status_event_at <= $6) RETURNING *`,
    [ctx.deps.provider.name, reference, status.transfersEnabled, status.payoutsEnabled, status.detailsSubmitted, eventAt, ctx.now],
  );
  if (!a) return 'not one of our accounts, or older than what we know';
  if (!a.transfers_enabled) return `account ${statusOf(a)}`;
  const n = await releaseWaitingTransfers({ ...ctx, principal: system(a.platform_id) }, a.platform_id, a.contractor_id, a.reference);
  return `account enabled; ${n} waiting transfer(s) requested`;
}

/**
 * `POST /v1/me/payout-account`, outside any transaction (provider calls): the contractor's
 * account, made once (the key is theirs, so two requests at once make one account), its state
 * read from the provider (releasing what waited for it if it can now receive transfers), and a
 * link to fill in what it still needs — none once it is complete.
 */
export async function openPayoutAccount(
  db: Db,
  deps: Deps,
  principal: Principal,
  user: { email: string | null },
  urls: { returnUrl: string; refreshUrl: string },
): Promise<{ account: PayoutAccountRow; url: string | null }> {
  const contractorId = principal.userId;
  if (!contractorId) throw forbidden('act for a user with the Acting-User header');
  const { provider } = deps;
  let account = await payoutAccountOf(db, principal.platformId, provider.name, contractorId);
  if (!account) {
    const made = await provider.createConnectedAccount({ contractorId, email: user.email, idempotencyKey: `account:${principal.platformId}:${contractorId}` });
    await db.query(
      `INSERT INTO payout_accounts (platform_id, provider, contractor_id, reference, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$5) ON CONFLICT DO NOTHING`,
      [principal.platformId, provider.name, contractorId, made.reference, deps.clock.now()],
    );
    account = (await payoutAccountOf(db, principal.platformId, provider.name, contractorId))!;
  }
  const reference = account.reference;
  const status = await provider.accountStatus(reference);
  const operations: string[] = [];
  await db.tx((tx) => {
    operations.length = 0;
    return applyAccountStatus({ tx, principal, deps, now: deps.clock.now(), operations }, reference, status, null);
  });
  if (operations.length) await awaitOperations(db, deps, operations, false);
  account = (await payoutAccountOf(db, principal.platformId, provider.name, contractorId))!;
  const complete = account.transfers_enabled && account.details_submitted;
  const url = complete ? null : (await provider.onboardingLink({ account: account.reference, ...urls })).url;
  return { account, url };
}

/**
 * payout.failed: a payout of the connected account to the contractor's bank failed (the money is
 * back in the account, at the provider: nothing of ours moves). Kept on the account so the
 * contractor sees it (a newer failure replaces an older one, never the reverse), and the
 * contractor is told (notification, email, `payout.failed` webhook) once per payout, however
 * often and in whatever order its events arrive.
 */
export async function recordPayoutFailure(ctx: Pick<UseCaseCtx, 'tx' | 'now' | 'deps'>, account: string, failure: PayoutAccountRow['payout_failure'] & object, created: number): Promise<string> {
  const [a] = await ctx.tx.query<PayoutAccountRow>('SELECT * FROM payout_accounts WHERE provider = $1 AND reference = $2 FOR UPDATE', [ctx.deps.provider.name, account]);
  if (!a) return 'not one of our accounts';
  const newer = !a.payout_failure || Number((a.payout_failure as { created?: number }).created ?? 0) <= created;
  if (newer) {
    await ctx.tx.query('UPDATE payout_accounts SET payout_failure = $3::jsonb WHERE provider = $1 AND reference = $2', [ctx.deps.provider.name, account, JSON.stringify({ ...failure, created })]);
  }
  const [told] = await ctx.tx.query(
    "SELECT 1 FROM notifications WHERE user_id = $1 AND platform_id = $2 AND kind = 'payout.failed' AND contract_id IS NULL AND data->>'payoutId' = $3 LIMIT 1",
    [a.contractor_id, a.platform_id, failure.id],
  );
  if (!told) {
    await recordUserEvent(ctx, a.platform_id, a.contractor_id, {
      kind: 'payout.failed',
      data: { payoutId: failure.id, amount: failure.amount, currency: failure.currency, code: failure.code, message: failure.message },
    });
  }
  return `payout failure ${newer ? 'recorded' : 'older than what we know'}; ${told ? 'already told' : 'contractor told'}`;
}

/** A payout of a connected account to the contractor's bank, as Stripe's event carried it (amount in our minor units). */
export type ProviderPayout = { id: string; amount: number; currency: string; status: string; arrivalDate: number | null; created: number; failureCode: string | null };

export type ProviderPayoutRow = {
  provider: string;
  payout_id: string;
  platform_id: string;
  contractor_id: string;
  account: string;
  amount: string | number;
  currency: string;
  status: string;
  arrival_date: Date | null;
  failure_code: string | null;
  event_at: string | number;
  created_at: Date;
  updated_at: Date;
};

/**
 * payout.created/updated/paid/canceled/failed (issue 14, item 5): one row per payout of a
 * connected account (`provider_payouts`), as the newest of its events said. `eventAt` is the
 * event's `created`: an older event arriving late changes nothing, nor does one that says what is
 * already known (a replay). At the same second a final status (paid, failed, canceled) is not
 * taken back by an earlier one (pending, in_transit). Nothing of ours moves.
 */
export async function recordProviderPayout(ctx: Pick<UseCaseCtx, 'tx' | 'now' | 'deps'>, account: string, payout: ProviderPayout, eventAt: number): Promise<string> {
  const provider = ctx.deps.provider.name;
  const [a] = await ctx.tx.query<PayoutAccountRow>('SELECT * FROM payout_accounts WHERE provider = $1 AND reference = $2', [provider, account]);
  if (!a) return 'not one of our accounts';
  const rank = (t: string) => `CASE ${t}.status WHEN 'pending' THEN 0 WHEN 'in_transit' THEN 1 ELSE 2 END`;
  const rows = await ctx.tx.query<ProviderPayoutRow>(
    `INSERT INTO provider_payouts AS p (provider, payout_id, platform_id, contractor_id, account, amount, currency, status, arrival_date, failure_code, event_at, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,CASE WHEN $9::bigint IS NULL THEN NULL ELSE to_timestamp($9::bigint) END,$10,$11,to_timestamp($12::bigint),$13)
     ON CONFLICT (provider, payout_id) DO UPDATE SET amount = EXCLUDED.amount, currency = EXCLUDED.currency, status = EXCLUDED.status, arrival_date = EXCLUDED.arrival_date,
       failure_code = EXCLUDED.failure_code, event_at = EXCLUDED.event_at, updated_at = EXCLUDED.updated_at
     WHERE (p.event_at < EXCLUDED.event_at OR (p.event_at = EXCLUDED.event_at AND ${rank('p')} <= ${rank('EXCLUDED')}))
       AND (p.status, p.amount, p.currency, p.arrival_date, p.failure_code, p.event_at) IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.amount, EXCLUDED.currency, EXCLUDED.arrival_date, EXCLUDED.failure_code, EXCLUDED.event_at)
     RETURNING status`,
    [provider, payout.id, a.platform_id, a.contractor_id, account, payout.amount, payout.currency, payout.status, payout.arrivalDate, payout.failureCode, eventAt, payout.created, ctx.now],
  );
  return rows.length ? `payout ${payout.id} ${rows[0]!.status}` : `payout ${payout.id}: older than or the same as what we know`;
}

/** The contractor's latest payouts to their bank (newest first). */
export async function providerPayoutsOf(q: Queryable, platformId: string, provider: string, contractorId: string, limit = 20): Promise<ProviderPayoutRow[]> {
  return q.query<ProviderPayoutRow>(
    'SELECT * FROM provider_payouts WHERE platform_id = $1 AND provider = $2 AND contractor_id = $3 ORDER BY created_at DESC, payout_id DESC LIMIT $4',
    [platformId, provider, contractorId, limit],
  );
}
