import Stripe from 'stripe';
import { z } from 'zod';
import { findUser } from '../../db/repos/users.ts';
import { AppError, forbidden } from '../../domain/errors.ts';
import { openPayoutAccount, payoutAccountOf, providerPayoutsOf, statusOf, type PayoutAccountRow, type ProviderPayoutRow } from '../../usecases/payments/payout-accounts.ts';
import { storeProviderEvent, type ProviderEvent } from '../../usecases/payments/provider-events.ts';
import { waitingTransfers } from '../../usecases/payments/transfers.ts';
import { BODY_LIMIT, type RouteContext } from '../app.ts';
import { Currency, NonNegativeAmount, Timestamp } from '../schemas.ts';
import type { V1 } from './types.ts';

const PayoutAccountSchema = z
  .object({
    provider: z
      .enum(['sandbox', 'stripe'])
      .describe(
        'This server’s payment provider. `stripe`: released payments are sent to this payout account and Stripe pays it out to your bank on its schedule (`POST /v1/payouts` is refused). `sandbox`: released payments stay in your balance until you pay them out with `POST /v1/payouts`; no account to set up',
      ),
    status: z
      .enum(['none', 'onboarding', 'verifying', 'enabled'])
      .describe('`none`: no payout account yet; `onboarding`: details to fill in at the link; `verifying`: submitted, the provider is checking them; `enabled`: it receives your payments'),
    url: z.string().nullable().describe('Where to fill in what the account still needs (the provider’s hosted onboarding; valid for a few minutes). Null when nothing is needed, and in `GET`'),
    transfersEnabled: z.boolean().describe('The account can receive your payments'),
    payoutsEnabled: z.boolean().describe('The provider pays the account out to your bank'),
    waiting: z
      .array(z.object({ currency: Currency, amount: NonNegativeAmount.describe('What waits for the account, in minor units'), count: z.number().int().describe('How many payments') }).describe('Payments of one currency waiting'))
      .describe('Payments released to you that wait for the account to be able to receive them'),
    lastPayoutFailure: z
      .object({
        amount: NonNegativeAmount.describe('What the failed payout was, in minor units'),
        currency: Currency,
        code: z.string().nullable().describe('The provider’s failure code, e.g. `account_closed`'),
        message: z.string().nullable().describe('The provider’s explanation'),
      })
      .nullable()
      .describe('The last payout of the account to your bank that failed (the money is back in the account); null if none'),
    payouts: z
      .array(
        z
          .object({
            id: z.string().describe('The provider’s id of the payout (Stripe: `po_…`)'),
            amount: NonNegativeAmount.describe('What the payout brings to your bank, in minor units'),
            currency: Currency,
            status: z
              .enum(['pending', 'in_transit', 'paid', 'failed', 'canceled'])
              .describe('`pending`: not sent yet; `in_transit`: on its way to your bank; `paid`: arrived (the bank may take a little longer to show it); `failed`: the bank refused it, the money is back in the account; `canceled`: stopped before it was sent'),
            arrivalDate: Timestamp.nullable().describe('When the payout arrives (or arrived) at your bank, as the provider expects it; null if not known'),
          })
          .describe('A payout of your payout account to your bank'),
      )
      .describe('The provider’s latest 20 payouts of your payout account to your bank, newest first (Stripe pays the account out on its schedule); empty with the sandbox'),
  })
  .describe('Your payout account at the payment provider, where released payments are sent');

const STATUSES = ['pending', 'in_transit', 'paid', 'failed', 'canceled'] as const;
const presentPayout = (p: ProviderPayoutRow) => ({
  id: p.payout_id,
  amount: Number(p.amount),
  currency: p.currency,
  status: (STATUSES as readonly string[]).includes(p.status) ? (p.status as (typeof STATUSES)[number]) : ('pending' as const),
  arrivalDate: p.arrival_date ? new Date(p.arrival_date).toISOString() : null,
});

const present = (provider: string, a: PayoutAccountRow | undefined, url: string | null, waiting: { currency: string; amount: number; count: number }[], payouts: ProviderPayoutRow[] = []) => ({
  provider: provider === 'stripe' ? ('stripe' as const) : ('sandbox' as const),
  status: statusOf(a),
  url,
  transfersEnabled: a?.transfers_enabled ?? false,
  payoutsEnabled: a?.payouts_enabled ?? false,
  waiting,
  lastPayoutFailure: a?.payout_failure
    ? { amount: Number(a.payout_failure.amount), currency: a.payout_failure.currency, code: a.payout_failure.code, message: a.payout_failure.message }
    : null,
  payouts: payouts.map(presentPayout),
});

/**
 * The payment provider's side (issue 14, items 2 and 3): inbound Stripe webhooks, and the
 * contractor's payout account (Stripe: an Express connected account).
 */
export function providerRoutes(app: V1, { db, deps, runner, http }: RouteContext) {
  const tags = ['Payouts'];

  // Stripe signs the exact bytes it sends: this route reads its body raw (no JSON parser).
  app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, body, done) => done(null, body));
    raw.post(
      '/providers/stripe/webhooks',
      {
        config: { public: true },
        schema: {
          operationId: 'receiveStripeWebhook',
          tags,
          summary:
            'Stripe’s events (the endpoint to configure in Stripe, for the platform’s and Connect events). Verified with `Stripe-Signature` against STRIPE_WEBHOOK_SECRET, stored once by event id and applied by the worker',
          security: [],
          response: {
            200: z
              .object({ received: z.literal(true).describe('The event is stored'), duplicate: z.boolean().describe('It was stored already (a redelivery): nothing more is done') })
              .describe('Stored; the worker applies it'),
          },
        },
      },
      async (req, reply) => {
        const payments = http.payments;
        if (payments?.provider !== 'stripe') throw new AppError('not_found', 'Stripe is not this server’s payment provider');
        const signature = req.headers['stripe-signature'];
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        if (typeof signature !== 'string') throw new AppError('malformed_request', 'the Stripe-Signature header is missing');
        let event: ProviderEvent | undefined;
        for (const secret of payments.webhookSecrets) {
          try {
            event = Stripe.webhooks.constructEvent(body, signature, secret) as unknown as ProviderEvent;
            break;
          } catch {
            /* another endpoint's secret, or not Stripe's */
          }
        }
        if (!event) throw new AppError('malformed_request', 'the Stripe-Signature does not verify (wrong secret, altered body or too old)');
        if (typeof event.id !== 'string' || typeof event.type !== 'string' || typeof event.data?.object !== 'object') {
          throw new AppError('malformed_request', 'not a Stripe event');
        }
        const fresh = await storeProviderEvent(db, 'stripe', event, deps.clock.now());
        return reply.code(200).send({ received: true as const, duplicate: !fresh });
      },
    );
  });

  app.get(
    '/me/payout-account',
    { schema: { tags, summary: 'Your payout account: whether it can receive your payments, and what waits for it', response: { 200: PayoutAccountSchema } } },
    (req, reply) =>
      runner.run(req, reply, async ({ tx, principal }) => {
        if (!principal.userId) throw forbidden('act for a user with the Acting-User header');
        const a = await payoutAccountOf(tx, principal.platformId, deps.provider.name, principal.userId);
        const payouts = await providerPayoutsOf(tx, principal.platformId, deps.provider.name, principal.userId);
        return { status: 200, body: present(deps.provider.name, a, null, await waitingTransfers(tx, principal.platformId, principal.userId), payouts) };
      }),
  );

  app.post(
    '/me/payout-account',
    {
      schema: {
        tags,
        summary:
          'Open (once) your payout account and get the link to complete it (Stripe: Express onboarding). Payments waiting for the account are sent as soon as it can receive them',
        response: { 200: PayoutAccountSchema },
      },
    },
    async (req, reply) => {
      // Provider calls, outside any transaction; then the answer is given (and kept for the key) as any command's.
      const principal = req.principal;
      if (!principal?.userId) throw principal ? forbidden('act for a user with the Acting-User header') : new AppError('unauthenticated', 'authentication required');
      const user = await findUser(db, principal.platformId, principal.userId);
      const base = http.publicUrl ?? `${req.protocol}://${req.host}`;
      const { account, url } = await openPayoutAccount(db, deps, principal, { email: user?.email ?? null }, {
        returnUrl: new URL('/earnings?onboarding=done', base).toString(),
        refreshUrl: new URL('/earnings?onboarding=again', base).toString(),
      });
      return runner.run(req, reply, async ({ tx }) => ({ status: 200, body: present(deps.provider.name, account, url, await waitingTransfers(tx, principal.platformId, principal.userId!), await providerPayoutsOf(tx, principal.platformId, deps.provider.name, principal.userId!)) }));
    },
  );
}
