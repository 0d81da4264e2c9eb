import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import qs from 'qs';
import Stripe from 'stripe';

/**
 * A stateful Stripe-API-compatible server for the tests (issue 14): the product's Stripe
 * adapter talks to it with the official SDK (`STRIPE_API_BASE`), form-encoded as the SDK sends,
 * with Bearer auth and Stripe's idempotency semantics; its errors have Stripe's JSON shape. It
 * speaks the part of the API the adapter and reconciliation use: customers, payment methods
 * (attach), payment intents, refunds, Express accounts and account links, transfers, payouts,
 * balance transactions and events.
 *
 * Written from Stripe's API reference, not from Stripe's code. Every change of state records the
 * event Stripe would send (`events`); nothing is sent by itself: a test sends what it wants, in
 * the order it wants (`send`, `deliver`, `replay`), signed with the SDK's test-header helper.
 *
 * Behaviour of Stripe's test payment methods (https://docs.stripe.com/testing): `pm_card_visa`,
 * `pm_card_mastercard`, `pm_card_amex`… succeed; `pm_card_chargeDeclined` (generic_decline),
 * `pm_card_chargeDeclinedInsufficientFunds`, `…LostCard`, `…StolenCard`, `…Fraudulent`,
 * `…ExpiredCard`, `…IncorrectCvc`, `…ProcessingError` and `pm_card_chargeCustomerFail` are
 * declined (402 card_error); `pm_card_authenticationRequired` needs the customer (declined
 * off-session); `pm_card_createDispute` succeeds and opens a dispute (charge.dispute.created).
 */
export const FAKE_STRIPE_KEY = 'sk_test_trancheFakeStripeKey0000000000';
export const FAKE_WEBHOOK_SECRET = 'whsec_trancheFakeStripeWebhookSecret000';
export const FAKE_API_VERSION = '2026-10-28.endive';

export type StripeObject = Record<string, any> & { id: string; object: string; created: number };
export type StripeEvent = StripeObject & { type: string; data: { object: StripeObject; previous_attributes?: Record<string, unknown> }; account?: string };
export type Kind = 'customer' | 'payment_method' | 'payment_intent' | 'charge' | 'refund' | 'account' | 'transfer' | 'payout' | 'balance_transaction' | 'dispute' | 'event';

const PREFIX: Record<Kind, string> = {
  customer: 'cus', payment_method: 'pm', payment_intent: 'pi', charge: 'ch', refund: 're', account: 'acct', transfer: 'tr', payout: 'po',
  balance_transaction: 'txn', dispute: 'dp', event: 'evt',
};

/** Stripe's minimum charge in Stripe's units of the currency (lower case), about 0.50 USD. */
const MINIMUM: Record<string, number> = { usd: 50, eur: 50, gbp: 30, jpy: 50, chf: 50, cad: 50, aud: 50, sek: 300, nok: 300, dkk: 250, isk: 7500 };

type Outcome = { ok: true } | { ok: false; code: string; decline: string; message: string };
const DECLINES: Record<string, [code: string, decline: string, message: string]> = {
  pm_card_chargeDeclined: ['card_declined', 'generic_decline', 'Your card was declined.'],
  pm_card_chargeCustomerFail: ['card_declined', 'generic_decline', 'Your card was declined.'],
  pm_card_chargeDeclinedInsufficientFunds: ['card_declined', 'insufficient_funds', 'Your card has insufficient funds.'],
  pm_card_chargeDeclinedLostCard: ['card_declined', 'lost_card', 'Your card was declined.'],
  pm_card_chargeDeclinedStolenCard: ['card_declined', 'stolen_card', 'Your card was declined.'],
  pm_card_chargeDeclinedFraudulent: ['card_declined', 'fraudulent', 'Your card was declined.'],
  pm_card_chargeDeclinedExpiredCard: ['expired_card', 'expired_card', 'Your card has expired.'],
  pm_card_chargeDeclinedIncorrectCvc: ['incorrect_cvc', 'incorrect_cvc', 'Your card’s security code is incorrect.'],
  pm_card_chargeDeclinedProcessingError: ['processing_error', 'processing_error', 'An error occurred while processing your card. Try again in a little bit.'],
  pm_card_authenticationRequired: ['authentication_required', 'authentication_required', 'Your card was declined. This transaction requires authentication.'],
};
const ATTACH_DECLINES = new Set(Object.keys(DECLINES).filter((k) => k !== 'pm_card_chargeCustomerFail' && k !== 'pm_card_authenticationRequired'));
const SUCCEEDS = new Set(['pm_card_visa', 'pm_card_visa_debit', 'pm_card_mastercard', 'pm_card_mastercard_debit', 'pm_card_amex', 'pm_card_discover', 'pm_card_us', 'pm_card_bypassPending', 'pm_card_createDispute']);
const BRAND: Record<string, string> = { pm_card_mastercard: 'mastercard', pm_card_mastercard_debit: 'mastercard', pm_card_amex: 'amex', pm_card_discover: 'discover' };

/** A Stripe error answer: `{ error: { type, code, decline_code, message, param, … } }`. */
class StripeFailure extends Error {
  constructor(readonly status: number, readonly error: Record<string, unknown>) {
    super(String(error.message));
  }
}
const invalid = (message: string, extra: Record<string, unknown> = {}, status = 400) => new StripeFailure(status, { type: 'invalid_request_error', message, ...extra });
const missing = (what: string, id: string, param?: string) =>
  invalid(`No such ${what}: '${id}'`, { code: 'resource_missing', ...(param ? { param } : {}) }, param ? 400 : 404);

const clone = <T>(v: T): T => structuredClone(v);

export class FakeStripe {
  readonly secretKey = FAKE_STRIPE_KEY;
  readonly webhookSecret = FAKE_WEBHOOK_SECRET;
  /** Base URL for `STRIPE_API_BASE`, e.g. http://127.0.0.1:41234. */
  url = '';
  /** Where `send` delivers events (the app's `/v1/providers/stripe/webhooks`). */
  webhookUrl: string | null = null;
  /** Every API request received, in order (method, path, Idempotency-Key, replayed or not). */
  readonly requests: { method: string; path: string; idempotencyKey: string | null; replayed: boolean; status: number }[] = [];
  /** Every event recorded, oldest first (nothing is sent unless a test sends it). */
  readonly events: StripeEvent[] = [];

  private server: http.Server | null = null;
  private readonly objects = new Map<string, StripeObject>();
  private readonly order = new Map<string, number>();
  private seq = 0;
  /** Payment methods made from a test token keep the token's behaviour. */
  private readonly tokenOf = new Map<string, string>();
  /** Payouts belong to a connected account (listed with the Stripe-Account header). */
  private readonly accountOf = new Map<string, string>();
  private readonly idempotency = new Map<string, { hash: string; status: number; body: string }>();
  private processing = 0;
  private pendingRefunds = 0;
  /** Account links made: where each onboarding page leads back to (its path → the URLs given). */
  private readonly links = new Map<string, { account: string; returnUrl: string; refreshUrl: string }>();
  private cut = new Set<string>();

  /** Starts a server on 127.0.0.1 at a random port. */
  static async start(): Promise<FakeStripe> {
    const f = new FakeStripe();
    f.server = http.createServer((req, res) => void f.handle(req, res));
    await new Promise<void>((r) => f.server!.listen(0, '127.0.0.1', r));
    f.url = `http://127.0.0.1:${(f.server.address() as AddressInfo).port}`;
    return f;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = null;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }

  /** The environment that points the product at this server. */
  env(): Record<string, string> {
    return { TRANCHE_PAYMENTS: 'stripe', STRIPE_SECRET_KEY: this.secretKey, STRIPE_WEBHOOK_SECRET: this.webhookSecret, STRIPE_API_BASE: this.url };
  }

  // ——— reading state ———

  /** An object by id (a copy), or undefined. */
  get(id: string): StripeObject | undefined {
    const o = this.objects.get(id);
    return o && clone(o);
  }

  /** Every object of a kind, oldest first (copies), optionally filtered. */
  all(kind: Kind, where: (o: StripeObject) => boolean = () => true): StripeObject[] {
    return [...this.objects.values()].filter((o) => o.object === objectName(kind) && where(o)).sort((a, b) => this.order.get(a.id)! - this.order.get(b.id)!).map(clone);
  }

  /** Events of a type, oldest first. */
  eventsOf(type: string): StripeEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  // ——— changing state as Stripe would, outside the API ———

  /**
   * Puts an object in the server's state as is (reconciliation tests: something the provider has
   * that the product does not know). `id`, `object` and `created` are filled in when missing; list
   * endpoints return planted objects like any other.
   */
  plant(kind: Kind, object: Partial<StripeObject> & Record<string, unknown>, account?: string): StripeObject {
    const o = { id: this.newId(kind), object: objectName(kind), created: now(), livemode: false, ...object } as StripeObject;
    this.store(o);
    if (account) this.accountOf.set(o.id, account);
    return clone(o);
  }

  /** The next `n` PaymentIntents confirmed with a succeeding card end `processing` (as a bank debit would). */
  processNext(n = 1): void {
    this.processing += n;
  }

  /** The next `n` Refunds are answered `pending` (Stripe does so for some cards and banks) until `settleRefund`. */
  pendNextRefunds(n = 1): void {
    this.pendingRefunds += n;
  }

  /**
   * Ends a `pending` Refund as Stripe would: `succeeded` records refund.updated and
   * charge.refund.updated; `failed` (with a `failure_reason`) gives the amount back to the charge
   * (no longer refunded) and records refund.updated, charge.refund.updated and refund.failed.
   * Nothing is sent; the events are returned, in the order Stripe records them.
   */
  settleRefund(id: string, outcome: 'succeeded' | 'failed', failureReason = 'expired_or_canceled_card'): StripeEvent[] {
    const r = this.objects.get(id);
    if (!r || r.object !== 'refund' || r.status !== 'pending') throw new Error(`${id} is not a pending refund`);
    const charge = this.objects.get(r.charge)!;
    if (outcome === 'failed') {
      Object.assign(r, { status: 'failed', failure_reason: failureReason });
      const txn = this.balanceTransaction('refund_failure', r.amount, r.currency);
      txn.source = r.id;
      r.failure_balance_transaction = txn.id;
      charge.amount_refunded -= r.amount;
      charge.refunded = false;
    } else r.status = 'succeeded';
    charge.refunds = { ...charge.refunds, data: charge.refunds.data.map((x: StripeObject) => (x.id === r.id ? clone(r) : x)) };
    const events = [this.record('refund.updated', r), this.record('charge.refund.updated', r)];
    if (outcome === 'failed') events.push(this.record('refund.failed', r));
    return events;
  }

  /**
   * The next request to `path` (e.g. `/v1/payment_intents`) is done — the object made, its answer
   * kept for its Idempotency-Key — but the connection is cut before the answer is sent, as when a
   * network fails after Stripe acted: the client only learns the outcome by retrying with the key.
   */
  cutNextAnswer(path: string): void {
    this.cut.add(path);
  }

  /** Ends a `processing` PaymentIntent: succeeded (with its charge) or failed; records payment_intent.succeeded / payment_failed. */
  settlePaymentIntent(id: string, outcome: 'succeeded' | 'failed'): StripeEvent {
    const pi = this.objects.get(id);
    if (!pi || pi.status !== 'processing') throw new Error(`${id} is not processing`);
    if (outcome === 'succeeded') {
      this.succeed(pi);
      return this.eventsOf('payment_intent.succeeded').at(-1)!;
    }
    pi.status = 'requires_payment_method';
    pi.last_payment_error = { type: 'card_error', code: 'payment_intent_payment_attempt_failed', message: 'The payment failed.' };
    return this.record('payment_intent.payment_failed', pi);
  }

  /**
   * Marks a connected account as able to receive transfers (onboarding finished: charges and
   * payouts enabled, `transfers` capability active) and records its `account.updated`; sends it
   * to `webhookUrl` unless `send: false`. Returns the event and the app's answer.
   */
  async enableTransfers(accountId: string, opts: { send?: boolean } = {}): Promise<{ event: StripeEvent; delivery: { status: number; body: unknown } | null }> {
    const a = this.objects.get(accountId);
    if (!a || a.object !== 'account') throw new Error(`no account ${accountId}`);
    const previous = { charges_enabled: a.charges_enabled, payouts_enabled: a.payouts_enabled, details_submitted: a.details_submitted, capabilities: clone(a.capabilities) };
    Object.assign(a, { charges_enabled: true, payouts_enabled: true, details_submitted: true, capabilities: { ...a.capabilities, transfers: 'active' }, requirements: { currently_due: [], eventually_due: [], past_due: [], disabled_reason: null } });
    const event = this.record('account.updated', a, { previous, account: accountId });
    const delivery = opts.send === false ? null : await this.send(event);
    return { event, delivery };
  }

  /** Reverses (part of) a transfer, as the platform would from its dashboard; records transfer.reversed. */
  reverseTransfer(id: string, amount?: number): StripeEvent {
    const t = this.objects.get(id);
    if (!t || t.object !== 'transfer') throw new Error(`no transfer ${id}`);
    const back = amount ?? t.amount - t.amount_reversed;
    t.amount_reversed += back;
    t.reversed = t.amount_reversed === t.amount;
    t.reversals = { object: 'list', data: [...(t.reversals?.data ?? []), { id: `trr_${token()}`, object: 'transfer_reversal', amount: back, currency: t.currency, transfer: t.id, created: now() }], has_more: false };
    return this.record('transfer.reversed', t);
  }

  /** A payout of a connected account to its bank that failed; records payout.failed (with `account`). */
  failPayout(account: string, amount: number, currency: string, failureCode = 'account_closed'): StripeEvent {
    const po = this.plant('payout', { amount, currency, status: 'failed', failure_code: failureCode, failure_message: 'The bank account has been closed.', arrival_date: now(), method: 'standard', type: 'bank_account' }, account);
    return this.record('payout.failed', this.objects.get(po.id)!, { account });
  }

  /** A payout of a connected account to its bank, pending and arriving in two days; records payout.created (with `account`). */
  createPayout(account: string, amount: number, currency: string): StripeEvent {
    const po = this.plant('payout', { amount, currency, status: 'pending', failure_code: null, failure_message: null, arrival_date: now() + 2 * 86_400, method: 'standard', type: 'bank_account' }, account);
    return this.record('payout.created', this.objects.get(po.id)!, { account });
  }

  /** Moves a payout made by `createPayout` on: records payout.updated (in_transit), payout.paid, payout.canceled or payout.failed. */
  settlePayout(id: string, status: 'in_transit' | 'paid' | 'canceled' | 'failed'): StripeEvent {
    const po = this.objects.get(id);
    if (!po || po.object !== 'payout') throw new Error(`no payout ${id}`);
    po.status = status;
    if (status === 'failed') Object.assign(po, { failure_code: 'account_closed', failure_message: 'The bank account has been closed.' });
    return this.record(status === 'in_transit' ? 'payout.updated' : `payout.${status}`, po, { account: this.accountOf.get(id) });
  }

  /** Records an event of any type about an object (a copy of it as it is now). */
  record(type: string, object: StripeObject, opts: { previous?: Record<string, unknown>; account?: string } = {}): StripeEvent {
    const e = {
      id: this.newId('event'),
      object: 'event',
      api_version: FAKE_API_VERSION,
      created: now(),
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
      data: { object: clone(object), ...(opts.previous ? { previous_attributes: opts.previous } : {}) },
      ...(opts.account ? { account: opts.account } : {}),
    } as StripeEvent;
    this.store(e);
    this.events.push(e);
    return clone(e);
  }

  // ——— sending events to the app ———

  /**
   * Sends one event to `webhookUrl` as Stripe does: a JSON body and a `Stripe-Signature` made with
   * the SDK's `generateTestHeaderString` (another `secret`, or a given `signature`, to test
   * refusals). Returns the app's status and body.
   */
  async send(event: StripeEvent, opts: { secret?: string; signature?: string; payload?: string } = {}): Promise<{ status: number; body: unknown }> {
    if (!this.webhookUrl) throw new Error('set webhookUrl first');
    const payload = opts.payload ?? JSON.stringify(event, null, 2);
    const signature = opts.signature ?? Stripe.webhooks.generateTestHeaderString({ payload, secret: opts.secret ?? this.webhookSecret });
    const res = await fetch(this.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signature, 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
      body: payload,
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body };
  }

  /** Sends an already sent event again (Stripe retries and replays deliver the same event id). */
  replay(eventId: string): Promise<{ status: number; body: unknown }> {
    const e = this.events.find((x) => x.id === eventId);
    if (!e) throw new Error(`no event ${eventId}`);
    return this.send(e);
  }

  /** Sends events one after another in the order given (out of order when the test says so); the answers in the same order. */
  async deliver(events: StripeEvent[]): Promise<{ status: number; body: unknown }[]> {
    const out = [];
    for (const e of events) out.push(await this.send(e));
    return out;
  }

  // ——— the HTTP API ———

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://stripe.local');
    const method = req.method ?? 'GET';
    const key = typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : null;
    const requestId = `req_${token(14)}`;
    const answer = (status: number, body: string, replayed = false) => {
      this.requests.push({ method, path: url.pathname, idempotencyKey: key, replayed, status });
      res.writeHead(status, { 'content-type': 'application/json', 'request-id': requestId, 'stripe-version': FAKE_API_VERSION, ...(replayed ? { 'idempotent-replayed': 'true' } : {}), ...(key ? { 'idempotency-key': key } : {}) });
      res.end(body);
    };
    // The hosted onboarding page an account link leads to (a browser's, no API key): a stand-in
    // that names the account and links back to the platform's return URL.
    const link = method === 'GET' ? this.links.get(url.pathname) : undefined;
    if (link) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Stripe test onboarding</title></head>` +
          `<body><main><h1>Stripe test onboarding</h1><p>Account ${link.account}</p><p><a href="${link.returnUrl}">Return to the platform</a></p></main></body></html>`,
      );
    }
    if (req.headers.authorization !== `Bearer ${this.secretKey}`) {
      return answer(401, JSON.stringify({ error: { type: 'invalid_request_error', message: 'Invalid API Key provided.' } }));
    }
    const params = (method === 'GET' ? qs.parse(url.search.slice(1)) : qs.parse(raw)) as Record<string, any>;
    // Stripe: the same key with the same parameters answers what it first answered; with others it is an error.
    const hash = createHash('sha256').update(`${method} ${url.pathname}\n${raw}`).digest('hex');
    if (method === 'POST' && key) {
      const seen = this.idempotency.get(key);
      if (seen) {
        if (seen.hash !== hash) {
          return answer(400, JSON.stringify({ error: { type: 'idempotency_error', message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.` } }));
        }
        return answer(seen.status, seen.body, true);
      }
    }
    let status = 200;
    let body: string;
    try {
      body = JSON.stringify(this.route(method, url.pathname, params, req.headers['stripe-account'] as string | undefined));
    } catch (e) {
      if (!(e instanceof StripeFailure)) throw e;
      status = e.status;
      body = JSON.stringify({ error: { ...e.error, request_log_url: `https://dashboard.stripe.com/test/logs/${requestId}` } });
    }
    if (method === 'POST' && key) this.idempotency.set(key, { hash, status, body });
    if (this.cut.delete(url.pathname)) {
      this.requests.push({ method, path: url.pathname, idempotencyKey: key, replayed: false, status: 0 });
      return req.socket.destroy();
    }
    answer(status, body);
  }

  private route(method: string, path: string, p: Record<string, any>, account: string | undefined): unknown {
    const m = (re: RegExp) => re.exec(path);
    let r: RegExpExecArray | null;
    if (method === 'POST' && path === '/v1/customers') return this.createCustomer(p);
    if ((r = m(/^\/v1\/customers\/([\w]+)$/))) return method === 'GET' ? this.find('customer', r[1]!) : this.updateCustomer(r[1]!, p);
    if (method === 'POST' && (r = m(/^\/v1\/payment_methods\/([\w]+)\/attach$/))) return this.attach(r[1]!, p);
    if (method === 'GET' && (r = m(/^\/v1\/payment_methods\/([\w]+)$/))) return this.paymentMethod(r[1]!);
    if (path === '/v1/payment_intents') return method === 'POST' ? this.createPaymentIntent(p) : this.list('payment_intent', p);
    if (method === 'GET' && (r = m(/^\/v1\/payment_intents\/([\w]+)$/))) return this.find('payment_intent', r[1]!);
    if (method === 'GET' && (r = m(/^\/v1\/charges\/([\w]+)$/))) return this.find('charge', r[1]!);
    if (method === 'GET' && path === '/v1/charges') return this.list('charge', p);
    if (path === '/v1/refunds') return method === 'POST' ? this.createRefund(p) : this.list('refund', p);
    if (method === 'GET' && (r = m(/^\/v1\/refunds\/([\w]+)$/))) return this.find('refund', r[1]!);
    if (path === '/v1/accounts') return method === 'POST' ? this.createAccount(p) : this.list('account', p);
    if ((r = m(/^\/v1\/accounts\/([\w]+)$/))) return method === 'GET' ? this.find('account', r[1]!) : this.updateAccount(r[1]!, p);
    if (method === 'POST' && path === '/v1/account_links') return this.accountLink(p);
    if (path === '/v1/transfers') return method === 'POST' ? this.createTransfer(p) : this.list('transfer', p, (t) => (!p.destination || t.destination === p.destination) && (!p.transfer_group || t.transfer_group === p.transfer_group));
    if (method === 'GET' && (r = m(/^\/v1\/transfers\/([\w]+)$/))) return this.find('transfer', r[1]!);
    if (method === 'GET' && path === '/v1/payouts') return this.list('payout', p, (o) => (this.accountOf.get(o.id) ?? null) === (account ?? null));
    if (method === 'GET' && (r = m(/^\/v1\/payouts\/([\w]+)$/))) return this.find('payout', r[1]!);
    if (method === 'GET' && path === '/v1/balance_transactions') return this.list('balance_transaction', p);
    if (method === 'GET' && path === '/v1/events') return this.list('event', p, (e) => !p.type || e.type === p.type);
    if (method === 'GET' && (r = m(/^\/v1\/events\/([\w]+)$/))) return this.find('event', r[1]!);
    throw invalid(`Unrecognized request URL (${method}: ${path}).`, {}, 404);
  }

  private createCustomer(p: Record<string, any>) {
    return this.store({ id: this.newId('customer'), object: 'customer', created: now(), livemode: false, name: p.name ?? null, email: p.email ?? null, description: p.description ?? null, metadata: p.metadata ?? {}, invoice_settings: { default_payment_method: null } });
  }

  private updateCustomer(id: string, p: Record<string, any>) {
    const c = this.mustFind('customer', id);
    const pm = p.invoice_settings?.default_payment_method;
    if (pm !== undefined && pm !== '') {
      const method = this.objects.get(pm);
      if (!method || method.customer !== id) throw invalid(`No such PaymentMethod: '${pm}'; It's possible this PaymentMethod exists on one of your connected accounts, in which case you should retry this request on that connected account.`, { code: 'resource_missing', param: 'invoice_settings[default_payment_method]' });
      c.invoice_settings = { ...c.invoice_settings, default_payment_method: pm };
    }
    for (const k of ['name', 'email', 'description'] as const) if (p[k] !== undefined) c[k] = p[k];
    if (p.metadata) c.metadata = { ...c.metadata, ...p.metadata };
    this.record('customer.updated', c);
    return c;
  }

  /** A test token (pm_card_visa…) attached makes a new PaymentMethod with the token's behaviour, as Stripe does. */
  private attach(id: string, p: Record<string, any>) {
    const customer = this.mustFind('customer', String(p.customer ?? ''), 'customer');
    if (isToken(id)) {
      if (!SUCCEEDS.has(id) && !DECLINES[id]) throw missing('PaymentMethod', id);
      // Attaching checks the card: a declined card is refused here already, except the ones
      // whose point is to attach and fail later (chargeCustomerFail, authenticationRequired).
      const refused = ATTACH_DECLINES.has(id) ? outcomeOf(id) : { ok: true as const };
      if (!refused.ok) throw new StripeFailure(402, { type: 'card_error', code: refused.code, decline_code: refused.decline, message: refused.message, param: '' });
      const pm = this.store({
        id: this.newId('payment_method'), object: 'payment_method', created: now(), livemode: false, type: 'card', customer: customer.id,
        card: { brand: BRAND[id] ?? 'visa', last4: id === 'pm_card_chargeDeclined' ? '0002' : '4242', exp_month: 12, exp_year: new Date().getFullYear() + 3, funding: 'credit', country: 'US' },
        billing_details: { name: null, email: null }, metadata: {},
      });
      this.tokenOf.set(pm.id, id);
      return pm;
    }
    const pm = this.mustFind('payment_method', id);
    if (pm.customer && pm.customer !== customer.id) throw invalid('The payment method you provided has already been attached to a customer.', { code: 'payment_method_unexpected_state' });
    pm.customer = customer.id;
    return pm;
  }

  private paymentMethod(id: string) {
    if (isToken(id) && (SUCCEEDS.has(id) || DECLINES[id])) return { id, object: 'payment_method', type: 'card', customer: null, created: now(), livemode: false, card: { brand: BRAND[id] ?? 'visa', last4: '4242' } };
    return this.find('payment_method', id);
  }

  private createPaymentIntent(p: Record<string, any>) {
    const amount = integer(p.amount, 'amount');
    const currency = String(p.currency ?? '').toLowerCase();
    if (!currency) throw invalid('Missing required param: currency.', { code: 'parameter_missing', param: 'currency' });
    const minimum = MINIMUM[currency] ?? 50;
    if (amount < minimum) {
      throw invalid(`Amount must be at least ${minimum} ${currency}`, { code: 'amount_too_small', param: 'amount', doc_url: 'https://docs.stripe.com/error-codes/amount-too-small' });
    }
    const customer = p.customer ? this.mustFind('customer', String(p.customer), 'customer') : null;
    const pmId = p.payment_method ? String(p.payment_method) : null;
    let behaviour: string | null = null;
    if (pmId) {
      if (isToken(pmId)) {
        if (!SUCCEEDS.has(pmId) && !DECLINES[pmId]) throw missing('PaymentMethod', pmId, 'payment_method');
        behaviour = pmId;
      } else {
        const pm = this.mustFind('payment_method', pmId, 'payment_method');
        if (pm.customer && pm.customer !== customer?.id) {
          throw invalid(`The provided PaymentMethod was previously attached to a Customer or was detached from a Customer, and may not be used again. Pass the customer '${pm.customer}' to use it.`, { code: 'payment_method_unexpected_state', param: 'payment_method' });
        }
        behaviour = this.tokenOf.get(pm.id) ?? 'pm_card_visa';
      }
    }
    const pi = this.store({
      id: this.newId('payment_intent'), object: 'payment_intent', created: now(), livemode: false, amount, amount_received: 0, currency,
      customer: customer?.id ?? null, payment_method: pmId, description: p.description ?? null, metadata: p.metadata ?? {},
      transfer_group: p.transfer_group ?? null, latest_charge: null, last_payment_error: null, capture_method: 'automatic', confirmation_method: 'automatic',
      payment_method_types: p.payment_method_types ?? ['card'], status: pmId ? 'requires_confirmation' : 'requires_payment_method',
    });
    this.record('payment_intent.created', pi);
    if (String(p.confirm) !== 'true') return pi;
    if (!pmId) throw invalid('You cannot confirm this PaymentIntent because it’s missing a payment method.', { code: 'payment_intent_unexpected_state', param: 'payment_method' });
    const outcome = outcomeOf(behaviour!);
    if (!outcome.ok) {
      const charge = this.store({
        id: this.newId('charge'), object: 'charge', created: now(), livemode: false, amount, amount_captured: 0, amount_refunded: 0, currency, customer: pi.customer,
        payment_intent: pi.id, payment_method: pmId, status: 'failed', paid: false, refunded: false, failure_code: outcome.code, outcome: { type: 'issuer_declined', reason: outcome.decline },
        transfer_group: pi.transfer_group, metadata: pi.metadata, balance_transaction: null, disputed: false,
      });
      this.record('charge.failed', charge);
      const error = { type: 'card_error', code: outcome.code, decline_code: outcome.decline, message: outcome.message, charge: charge.id, payment_method: { id: pmId, object: 'payment_method' }, doc_url: `https://docs.stripe.com/error-codes/${outcome.code.replace(/_/g, '-')}` };
      Object.assign(pi, { status: 'requires_payment_method', latest_charge: charge.id, last_payment_error: { type: 'card_error', code: outcome.code, decline_code: outcome.decline, message: outcome.message } });
      this.record('payment_intent.payment_failed', pi);
      throw new StripeFailure(402, { ...error, payment_intent: clone(pi) });
    }
    if (this.processing > 0) {
      this.processing--;
      pi.status = 'processing';
      this.record('payment_intent.processing', pi);
      return pi;
    }
    this.succeed(pi);
    if (behaviour === 'pm_card_createDispute') this.openDispute(pi);
    return pi;
  }

  private succeed(pi: StripeObject) {
    const txn = this.balanceTransaction('charge', pi.amount, pi.currency);
    const charge = this.store({
      id: this.newId('charge'), object: 'charge', created: now(), livemode: false, amount: pi.amount, amount_captured: pi.amount, amount_refunded: 0, currency: pi.currency,
      customer: pi.customer, payment_intent: pi.id, payment_method: pi.payment_method, status: 'succeeded', paid: true, captured: true, refunded: false, disputed: false,
      transfer_group: pi.transfer_group, metadata: pi.metadata, balance_transaction: txn.id, failure_code: null,
    });
    txn.source = charge.id;
    Object.assign(pi, { status: 'succeeded', amount_received: pi.amount, latest_charge: charge.id, last_payment_error: null });
    this.record('charge.succeeded', charge);
    this.record('payment_intent.succeeded', pi);
  }

  private openDispute(pi: StripeObject) {
    const charge = this.objects.get(pi.latest_charge)!;
    charge.disputed = true;
    const dp = this.store({ id: this.newId('dispute'), object: 'dispute', created: now(), livemode: false, amount: pi.amount, currency: pi.currency, charge: charge.id, payment_intent: pi.id, reason: 'fraudulent', status: 'needs_response', is_charge_refundable: false, metadata: {} });
    this.record('charge.dispute.created', dp);
  }

  private createRefund(p: Record<string, any>) {
    let charge: StripeObject;
    if (p.charge) charge = this.mustFind('charge', String(p.charge), 'charge');
    else if (p.payment_intent) {
      const pi = this.mustFind('payment_intent', String(p.payment_intent), 'payment_intent');
      if (pi.status !== 'succeeded' || !pi.latest_charge) throw invalid(`This PaymentIntent (${pi.id}) does not have a successful charge to refund.`, { code: 'charge_not_refundable', param: 'payment_intent' });
      charge = this.objects.get(pi.latest_charge)!;
    } else throw invalid('One of the following params should be provided for this request: payment_intent or charge.', { code: 'parameter_missing' });
    const left = charge.amount - charge.amount_refunded;
    if (left === 0) throw invalid(`Charge ${charge.id} has already been refunded.`, { code: 'charge_already_refunded' });
    const amount = p.amount === undefined ? left : integer(p.amount, 'amount');
    if (amount > left) throw invalid(`Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`, { code: 'amount_too_large', param: 'amount' });
    const txn = this.balanceTransaction('refund', -amount, charge.currency);
    const refund = this.store({
      id: this.newId('refund'), object: 'refund', created: now(), livemode: false, amount, currency: charge.currency, charge: charge.id, payment_intent: charge.payment_intent,
      status: this.pendingRefunds > 0 ? 'pending' : 'succeeded', reason: p.reason ?? null, metadata: p.metadata ?? {}, balance_transaction: txn.id, failure_reason: null,
    });
    if (this.pendingRefunds > 0) this.pendingRefunds--;
    txn.source = refund.id;
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded === charge.amount;
    charge.refunds = { object: 'list', data: [...(charge.refunds?.data ?? []), clone(refund)], has_more: false };
    this.record('refund.created', refund);
    this.record('charge.refunded', charge);
    return refund;
  }

  private createAccount(p: Record<string, any>) {
    if (p.type && !['express', 'custom', 'standard'].includes(p.type)) throw invalid(`Invalid type: must be one of express, custom, or standard`, { param: 'type' });
    const requested = Object.keys(p.capabilities ?? {}).filter((k) => String(p.capabilities[k]?.requested) === 'true');
    const a = this.store({
      id: this.newId('account'), object: 'account', created: now(), type: p.type ?? 'express', email: p.email ?? null, country: p.country ?? 'US', default_currency: 'usd',
      charges_enabled: false, payouts_enabled: false, details_submitted: false, metadata: p.metadata ?? {},
      capabilities: Object.fromEntries(requested.map((k) => [k, 'inactive'])),
      requirements: { currently_due: ['business_profile.url', 'external_account', 'tos_acceptance.date'], eventually_due: [], past_due: [], disabled_reason: 'requirements.past_due' },
    });
    this.record('account.created', a, { account: a.id });
    return a;
  }

  private updateAccount(id: string, p: Record<string, any>) {
    const a = this.mustFind('account', id);
    if (p.metadata) a.metadata = { ...a.metadata, ...p.metadata };
    if (p.email) a.email = p.email;
    for (const [k, v] of Object.entries(p.capabilities ?? {})) if (String((v as any)?.requested) === 'true') a.capabilities[k] ??= 'inactive';
    this.record('account.updated', a, { account: id });
    return a;
  }

  private accountLink(p: Record<string, any>) {
    const a = this.mustFind('account', String(p.account ?? ''), 'account');
    for (const k of ['refresh_url', 'return_url', 'type'] as const) if (!p[k]) throw invalid(`Missing required param: ${k}.`, { code: 'parameter_missing', param: k });
    if (!['account_onboarding', 'account_update'].includes(p.type)) throw invalid('Invalid type', { param: 'type' });
    const path = `/setup/e/${a.id}/${token(12)}`;
    this.links.set(path, { account: a.id, returnUrl: String(p.return_url), refreshUrl: String(p.refresh_url) });
    return { object: 'account_link', created: now(), expires_at: now() + 300, url: `${this.url}${path}` };
  }

  private createTransfer(p: Record<string, any>) {
    const amount = integer(p.amount, 'amount');
    const currency = String(p.currency ?? '').toLowerCase();
    if (!currency) throw invalid('Missing required param: currency.', { code: 'parameter_missing', param: 'currency' });
    const dest = this.objects.get(String(p.destination ?? ''));
    if (!dest || dest.object !== 'account') throw invalid(`No such destination: '${p.destination}'`, { code: 'resource_missing', param: 'destination' });
    if (dest.capabilities?.transfers !== 'active') {
      throw invalid('Your destination account needs to have at least one of the following capabilities enabled: transfers, crypto_transfers, legacy_payments', { code: 'insufficient_capabilities_for_transfer', param: 'destination' });
    }
    if (p.source_transaction) {
      const ch = this.objects.get(String(p.source_transaction));
      if (!ch || ch.object !== 'charge' || ch.status !== 'succeeded') throw invalid(`No such charge: '${p.source_transaction}'`, { code: 'resource_missing', param: 'source_transaction' });
    }
    const txn = this.balanceTransaction('transfer', -amount, currency);
    const t = this.store({
      id: this.newId('transfer'), object: 'transfer', created: now(), livemode: false, amount, amount_reversed: 0, currency, destination: dest.id, destination_payment: `py_${token()}`,
      transfer_group: p.transfer_group ?? null, source_transaction: p.source_transaction ?? null, description: p.description ?? null, metadata: p.metadata ?? {},
      reversed: false, reversals: { object: 'list', data: [], has_more: false }, balance_transaction: txn.id,
    });
    txn.source = t.id;
    this.record('transfer.created', t);
    return t;
  }

  private balanceTransaction(type: string, amount: number, currency: string) {
    return this.store({ id: this.newId('balance_transaction'), object: 'balance_transaction', created: now(), amount, currency, fee: 0, net: amount, type, status: 'available', source: null as string | null });
  }

  /** Stripe's list: newest first, `created[gt|gte|lt|lte]`, `limit` (10, at most 100), `starting_after` / `ending_before`. */
  private list(kind: Kind, p: Record<string, any>, where: (o: StripeObject) => boolean = () => true) {
    const limit = p.limit === undefined ? 10 : integer(p.limit, 'limit');
    if (limit < 1 || limit > 100) throw invalid('This value must be between 1 and 100.', { param: 'limit' });
    const created = p.created && typeof p.created === 'object' ? (p.created as Record<string, string>) : p.created !== undefined ? { eq: String(p.created) } : {};
    const inRange = (o: StripeObject) =>
      (created.gt === undefined || o.created > Number(created.gt)) && (created.gte === undefined || o.created >= Number(created.gte)) &&
      (created.lt === undefined || o.created < Number(created.lt)) && (created.lte === undefined || o.created <= Number(created.lte)) &&
      (created.eq === undefined || o.created === Number(created.eq));
    let items = [...this.objects.values()]
      .filter((o) => o.object === objectName(kind) && inRange(o) && where(o))
      .sort((a, b) => b.created - a.created || this.order.get(b.id)! - this.order.get(a.id)!);
    let hasMore: boolean;
    if (p.ending_before) {
      const at = items.findIndex((o) => o.id === p.ending_before);
      const before = at < 0 ? [] : items.slice(0, at);
      hasMore = before.length > limit;
      items = before.slice(-limit);
    } else {
      if (p.starting_after) {
        const at = items.findIndex((o) => o.id === p.starting_after);
        items = at < 0 ? [] : items.slice(at + 1);
      }
      hasMore = items.length > limit;
      items = items.slice(0, limit);
    }
    return { object: 'list', data: items, has_more: hasMore, url: `/v1/${objectName(kind)}s` };
  }

  private find(kind: Kind, id: string) {
    return this.mustFind(kind, id);
  }

  private mustFind(kind: Kind, id: string, param?: string): StripeObject {
    const o = this.objects.get(id);
    if (!o || o.object !== objectName(kind)) throw missing(kind.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()).replace(/^\w/, (c) => c.toUpperCase()), id, param);
    return o;
  }

  private store<T extends StripeObject>(o: T): T {
    this.objects.set(o.id, o);
    this.order.set(o.id, this.seq++);
    return o;
  }

  private newId(kind: Kind) {
    return `${PREFIX[kind]}_${kind === 'payment_intent' || kind === 'charge' ? '3' : '1'}${token()}`;
  }
}

const objectName = (k: Kind) => k;
const now = () => Math.floor(Date.now() / 1000);
const token = (n = 24) => randomBytes(n).toString('base64').replace(/[^A-Za-z0-9]/g, '').padEnd(n, 'x').slice(0, n);
const isToken = (id: string) => /^pm_card_/.test(id);

function integer(v: unknown, param: string): number {
  if (v === undefined) throw invalid(`Missing required param: ${param}.`, { code: 'parameter_missing', param });
  if (!/^-?\d+$/.test(String(v))) throw invalid(`Invalid integer: ${String(v)}`, { code: 'parameter_invalid_integer', param });
  const n = Number(v);
  if (n < 1 && param === 'amount') throw invalid('This value must be greater than or equal to 1.', { code: 'parameter_invalid_integer', param });
  return n;
}

function outcomeOf(method: string): Outcome {
  const d = DECLINES[method];
  return d ? { ok: false, code: d[0], decline: d[1], message: d[2] } : { ok: true };
}
