import { findContract, type ContractRow } from '../../db/repos/contracts.ts';
import { findInvoice, updateInvoice, type InvoiceRow } from '../../db/repos/hourly.ts';
import { toState, type MilestoneRow } from '../../db/repos/milestones.ts';
import { AppError, forbidden, invalidState, notFound } from '../../domain/errors.ts';
import { PAST_DUE_RETRIES } from '../../domain/hourly.ts';
import { newId } from '../../domain/ids.ts';
import { escrowHeld } from '../../domain/milestone-machine.ts';
import { feeOf } from '../../domain/money.ts';
import { directPaymentPostings } from '../../ledger/flows.ts';
import { postEntries } from '../../ledger/postings.ts';
import { PaymentDeclinedError } from '../../payments/provider.ts';
import { approvalThresholdOf } from '../../db/repos/organizations.ts';
import { partyRole, type ContractRole } from '../access.ts';
import type { UseCaseCtx } from '../context.ts';
import { insertPayment, partiesOf, resolvePaymentMethod } from '../money.ts';
import { completePayment, type PaymentRow } from '../pay-payments.ts';
import { enqueueJob, recordEvent, recordEvents } from '../record.ts';
import { applyMilestoneCommand, assertVersion } from '../run-milestone-command.ts';
import { RetryLater } from '../settle-charges.ts';

const DAY = 86_400_000;

/** Loads an invoice its contract's parties (or the admin) may see; with `lock`, the contract first, then the invoice. */
export async function loadInvoice(ctx: UseCaseCtx, id: string, lock: boolean): Promise<{ invoice: InvoiceRow; contract: ContractRow; role: ContractRole }> {
  const peek = await findInvoice(ctx.tx, ctx.principal.platformId, id);
  if (!peek) throw notFound('invoice');
  const contract = (await findContract(ctx.tx, ctx.principal.platformId, peek.contract_id, lock))!;
  const role = partyRole(ctx, contract, 'invoice');
  const invoice = lock ? (await findInvoice(ctx.tx, contract.platform_id, id, true))! : peek;
  return { invoice, contract, role };
}

export const balanceDue = (i: InvoiceRow) => i.amount_due - i.paid_from_escrow - i.charged;

/** An invoice held by an unresolved dispute is not paid until the dispute is resolved. */
export async function isHeldByDispute(ctx: UseCaseCtx, i: InvoiceRow): Promise<boolean> {
  if (!i.dispute_id) return false;
  const [d] = await ctx.tx.query<{ status: string }>('SELECT status FROM disputes WHERE id = $1', [i.dispute_id]);
  return d?.status !== 'resolved';
}

/**
 * Who pays and how a failure ends: the schedule, a retry and a dispute's resolution leave an
 * invoice the card did not cover `past_due`; the client paying by hand gets the error instead
 * and nothing changes.
 */
type Mode = 'schedule' | 'retry' | 'resolution' | 'client';

/**
 * What Wednesday's batch already read for all its invoices at once: whether the contract holds
 * escrow to draw on (if not, settleInvoice skips that query) and the client's default card.
 */
type KnownForInvoice = { escrow: boolean; defaultMethod: string | null };

/**
 * Pays what is left of an invoice (contract and invoice locked): first from the contract's
 * escrowed milestone payments, oldest first, partially if need be (each an escrow release of
 * that milestone, with its contractor fee); the rest charged to the client's payment method
 * (one direct payment entry). Each movement is one balanced journal entry and a contractor
 * payment linked to the invoice. The card charge is keyed by invoice and attempt, so a
 * retried transaction never charges twice.
 */
export async function settleInvoice(
  ctx: UseCaseCtx,
  contract: ContractRow,
  invoice: InvoiceRow,
  mode: Mode,
  paymentMethod?: string,
  known?: KnownForInvoice,
): Promise<InvoiceRow> {
  const inv = balanceDue(invoice) > 0 && contract.status === 'active' && (known?.escrow ?? true) ? await drawOnEscrow(ctx, contract, invoice) : invoice;
  if (balanceDue(inv) > 0) {
    const method =
      mode === 'client' ? await resolvePaymentMethod(ctx, contract, paymentMethod) : known ? known.defaultMethod : await defaultMethod(ctx, contract);
    if (!method) return pastDue(ctx, contract, inv, 'the client has no default payment method');
    const charged = await chargeInvoice(ctx, { contract, invoice: inv, method }, mode);
    return 'row' in charged ? charged.row : (await bookInvoiceCharges(ctx, [charged]))[0]!;
  }
  return markPaid(ctx, contract, inv);
}

/**
 * Pays what it can of an invoice from the contract's escrowed milestone payments, oldest first,
 * partially if need be: each an escrow release of that milestone (its own journal entry, with its
 * contractor fee) and a contractor payment linked to the invoice. Returns the invoice as it is then.
 */
async function drawOnEscrow(ctx: UseCaseCtx, contract: ContractRow, invoice: InvoiceRow): Promise<InvoiceRow> {
  let inv = invoice;
  let rest = balanceDue(inv);
  const held = await ctx.tx.query<MilestoneRow>(
    `SELECT * FROM milestones WHERE contract_id = $1 AND status IN ('funded', 'submitted') AND NOT funding_pending
       AND funded_amount - released_amount - refunded_amount > 0
     ORDER BY created_at, id FOR UPDATE`,
    [contract.id],
  );
  let fromEscrow = 0;
  for (const m of held) {
    if (rest === 0) break;
    const take = Math.min(escrowHeld(toState(m)), rest);
    const r = await applyMilestoneCommand(ctx, contract, m, 'client', { type: 'release', amount: take }, {
      event: 'milestone.released',
      eventActor: 'system',
      paymentKind: 'invoice',
      data: { invoiceId: inv.id, number: inv.number },
    });
    await ctx.tx.query('UPDATE payments SET invoice_id = $1 WHERE id = ANY($2)', [inv.id, r.paymentIds]);
    fromEscrow += take;
    rest -= take;
  }
  if (fromEscrow > 0) inv = await updateInvoice(ctx.tx, inv.id, { paid_from_escrow: inv.paid_from_escrow + fromEscrow }, ctx.now);
  return inv;
}

type CardInvoice = { contract: ContractRow; invoice: InvoiceRow; method: string };
/** A charge the provider took at once, to book: `rest` of the invoice plus the client `fee`. */
type TakenCharge = CardInvoice & { rest: number; fee: number; attempt: number; reference: string };

/**
 * Charges what is left of an invoice to the card. Declined: the invoice is past due (the client
 * paying by hand gets 402 instead); pending: a processing payment waits for the settlement job.
 * Taken at once: the charge, for bookInvoiceCharges. The charge is keyed by invoice and attempt;
 * the attempt count is stored with the outcome (a transaction that fails after the call rolls the
 * count back, and its retry repeats the same key).
 */
async function chargeInvoice(ctx: UseCaseCtx, c: CardInvoice, mode: Mode): Promise<TakenCharge | { row: InvoiceRow }> {
  const { contract, invoice: inv } = c;
  const rest = balanceDue(inv);
  const fee = feeOf(rest, contract.policy.platformFee.clientBps);
  const attempt = inv.charge_attempts + 1;
  let charge;
  try {
    charge = await ctx.deps.provider.charge({
      amount: rest + fee,
      currency: contract.currency,
      paymentMethod: c.method,
      idempotencyKey: `invoice:${inv.id}:${attempt}`,
      description: `Invoice ${inv.number}`,
    });
  } catch (e) {
    if (!(e instanceof PaymentDeclinedError)) throw e;
    if (mode === 'client') throw new AppError('payment_declined', 'the card was declined', { declineCode: e.declineCode, invoiceId: inv.id });
    return { row: await pastDue(ctx, contract, inv, `the card was declined (${e.declineCode})`, { charge_attempts: attempt }) };
  }
  if (charge.status === 'succeeded') return { ...c, rest, fee, attempt, reference: charge.reference };
  const paymentId = newId('payment');
  await insertPayment(ctx, contract, { id: paymentId, milestoneId: null, kind: 'invoice', amount: rest, fee: 0, status: 'processing' });
  await ctx.tx.query('UPDATE payments SET invoice_id = $2, provider_ref = $3 WHERE id = $1', [paymentId, inv.id, charge.reference]);
  await enqueueJob(ctx, { kind: 'settle_invoice_charge', payload: { invoiceId: inv.id, paymentId }, platformId: contract.platform_id, contractId: contract.id, dedupeKey: `settle-invoice:${paymentId}` });
  return { row: await updateInvoice(ctx.tx, inv.id, { charge_pending: true, charge_attempts: attempt }, ctx.now) };
}

/**
 * Books charges taken at once, set-based (one statement each for the payments, the journal
 * entries and the invoices, whatever their number; at most one invoice per contract): each is
 * the contractor's paid payment linked to its invoice, one balanced `direct_payment` journal
 * entry in its contract's hash chain (as completePayment posts it), the invoice paid, and the
 * `payment.paid` and `invoice.paid` events — all in the caller's transaction.
 */
async function bookInvoiceCharges(ctx: UseCaseCtx, taken: TakenCharge[]): Promise<InvoiceRow[]> {
  if (taken.length === 0) return [];
  const { tx, now } = ctx;
  const platformId = taken[0]!.contract.platform_id;
  const contractorFees = taken.map((t) => feeOf(t.rest, t.contract.policy.platformFee.contractorBps));
  const paymentIds = taken.map(() => newId('payment'));
  await tx.query(
    `INSERT INTO payments (id, platform_id, contract_id, milestone_id, client_id, contractor_id, kind, amount, fee, currency, status, provider_ref, invoice_id, paid_at, created_at, updated_at)
     SELECT x.id, $1, x.contract_id, NULL, x.client_id, x.contractor_id, 'invoice', x.amount, x.fee, x.currency, 'paid', x.reference, x.invoice_id, $2, $2, $2
     FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::text[], $10::text[], $11::text[])
       AS x(id, contract_id, client_id, contractor_id, amount, fee, currency, reference, invoice_id)`,
    [
      platformId, now, paymentIds, taken.map((t) => t.contract.id), taken.map((t) => t.contract.client_id), taken.map((t) => t.contract.contractor_id),
      taken.map((t) => t.rest), contractorFees, taken.map((t) => t.contract.currency), taken.map((t) => t.reference), taken.map((t) => t.invoice.id),
    ],
  );
  await postEntries(
    tx,
    platformId,
    now,
    taken.map((t, i) => ({
      contractId: t.contract.id,
      currency: t.contract.currency,
      kind: 'direct_payment',
      reference: `charge:${t.reference}`,
      postings: directPaymentPostings(partiesOf(t.contract), t.rest, t.fee, contractorFees[i]!),
    })),
  );
  const rows = await tx.query<InvoiceRow>(
    `UPDATE invoices i SET status = 'paid', paid_at = $1, past_due_reason = NULL, charged = i.charged + x.rest, client_fee = i.client_fee + x.fee,
       charge_attempts = x.attempt, version = i.version + 1, updated_at = $1
     FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::int[]) AS x(id, rest, fee, attempt)
     WHERE i.id = x.id RETURNING i.*`,
    [now, taken.map((t) => t.invoice.id), taken.map((t) => t.rest), taken.map((t) => t.fee), taken.map((t) => t.attempt)],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  const paid = taken.map((t) => byId.get(t.invoice.id)!);
  await recordEvents(
    ctx,
    taken.flatMap((t, i) => [
      { contract: t.contract, ev: { kind: 'payment.paid' as const, actorRole: 'client' as const, milestoneId: null, data: { paymentId: paymentIds[i]!, amount: t.rest } } },
      {
        contract: t.contract,
        ev: {
          kind: 'invoice.paid' as const,
          actorRole: 'system' as const,
          data: { invoiceId: paid[i]!.id, number: paid[i]!.number, amount: paid[i]!.amount_due, paidFromEscrow: paid[i]!.paid_from_escrow, charged: paid[i]!.charged },
        },
      },
    ]),
  );
  return paid;
}

async function defaultMethod(ctx: UseCaseCtx, contract: ContractRow): Promise<string | null> {
  // The client is a user or an organisation (whose finance members set its default).
  const [row] = await ctx.tx.query<{ default_payment_method: string | null }>(
    'SELECT default_payment_method FROM users WHERE id = $1 UNION ALL SELECT default_payment_method FROM organizations WHERE id = $1',
    [contract.client_id],
  );
  return row?.default_payment_method ?? null;
}

type InvoiceChange = Partial<Record<keyof InvoiceRow, unknown>>;

/** The invoice is paid (`also`: the card's figures, written in the same update). */
async function markPaid(ctx: UseCaseCtx, contract: ContractRow, inv: InvoiceRow, also: InvoiceChange = {}): Promise<InvoiceRow> {
  const paid = await updateInvoice(ctx.tx, inv.id, { ...also, status: 'paid', paid_at: ctx.now, past_due_reason: null }, ctx.now);
  await recordEvent(ctx, contract, {
    kind: 'invoice.paid',
    actorRole: 'system',
    data: { invoiceId: inv.id, number: inv.number, amount: inv.amount_due, paidFromEscrow: paid.paid_from_escrow, charged: paid.charged },
  });
  return paid;
}

/**
 * The card did not cover the invoice: it is past due, both parties are told (app, email,
 * webhook) the first time, and the worker tries again daily, PAST_DUE_RETRIES times.
 */
async function pastDue(ctx: UseCaseCtx, contract: ContractRow, inv: InvoiceRow, reason: string, also: InvoiceChange = {}): Promise<InvoiceRow> {
  const first = inv.status !== 'past_due';
  const row = await updateInvoice(ctx.tx, inv.id, { ...also, status: 'past_due', past_due_reason: reason, charge_pending: false }, ctx.now);
  if (first) {
    await recordEvent(ctx, contract, { kind: 'invoice.past_due', actorRole: 'system', data: { invoiceId: inv.id, number: inv.number, amount: balanceDue(row), reason } });
  }
  if (row.retries < PAST_DUE_RETRIES) {
    const retry = row.retries + 1;
    await enqueueJob(ctx, {
      kind: 'invoice_retry',
      payload: { invoiceId: inv.id, retry },
      platformId: contract.platform_id,
      contractId: contract.id,
      runAt: new Date(ctx.now.getTime() + DAY),
      dedupeKey: `invoice-retry:${inv.id}:${retry}`,
    });
  }
  return row;
}

/** Invoices a Wednesday job pays in one transaction (one claim, one commit for them all). */
export const PAYMENT_BATCH = 200;

/**
 * State job `invoice_payment`, Wednesday 00:00: pays a batch of open invoices (Monday's job
 * makes one job per PAYMENT_BATCH invoices), each as it would be alone — escrow first, then the
 * card, its own journal entries, past due if the card is declined — skipping those a dispute
 * holds and those already paid. The batch's contracts are locked in id order (as bulk payment
 * does), then its invoices. Idempotent per invoice: a paid invoice is skipped, and the charge
 * is keyed by invoice and attempt. If the batch fails (an error, not a declined card), its retry
 * splits it into one job per invoice, so one invoice that keeps failing delays no other.
 */
export async function payScheduledInvoices(ctx: UseCaseCtx, invoiceIds: string[], attempts: number): Promise<string> {
  const { tx, now } = ctx;
  const platformId = ctx.principal.platformId;
  if (invoiceIds.length > 1 && attempts > 0) {
    await tx.query(
      `INSERT INTO jobs (id, platform_id, contract_id, kind, payload, run_at, dedupe_key, created_at, updated_at)
       SELECT x.job_id, $1, i.contract_id, 'invoice_payment', jsonb_build_object('invoiceId', i.id), $2, 'invoice-payment:' || i.id, $2, $2
       FROM unnest($3::text[], $4::text[]) AS x(invoice_id, job_id) JOIN invoices i ON i.id = x.invoice_id
       ON CONFLICT (dedupe_key) DO NOTHING`,
      [platformId, now, invoiceIds, invoiceIds.map(() => newId('job'))],
    );
    return `split into ${invoiceIds.length} jobs after a failure`;
  }
  const contracts = await tx.query<ContractRow>(
    'SELECT * FROM contracts WHERE platform_id = $1 AND id IN (SELECT contract_id FROM invoices WHERE id = ANY($2)) ORDER BY id FOR UPDATE',
    [platformId, invoiceIds],
  );
  const invoices = await tx.query<InvoiceRow>('SELECT * FROM invoices WHERE platform_id = $1 AND id = ANY($2) ORDER BY contract_id FOR UPDATE', [platformId, invoiceIds]);
  const facts = await tx.query<{ id: string; held: boolean; escrow: boolean; default_payment_method: string | null }>(
    `SELECT i.id, COALESCE(u.default_payment_method, o.default_payment_method) AS default_payment_method,
       EXISTS (SELECT 1 FROM disputes d WHERE d.id = i.dispute_id AND d.status <> 'resolved') AS held,
       EXISTS (SELECT 1 FROM milestones m WHERE m.contract_id = i.contract_id AND m.status IN ('funded', 'submitted') AND NOT m.funding_pending
                 AND m.funded_amount - m.released_amount - m.refunded_amount > 0) AS escrow
     FROM invoices i LEFT JOIN users u ON u.id = i.client_id LEFT JOIN organizations o ON o.id = i.client_id
     WHERE i.id = ANY($1) AND i.status = 'open' AND NOT i.charge_pending`,
    [invoiceIds],
  );
  const byContract = new Map(contracts.map((c) => [c.id, c]));
  const factsOf = new Map(facts.map((f) => [f.id, f]));
  const outcomes = new Map<string, number>();
  const note = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  // Escrow is drawn on invoice by invoice; what is left for the card (a saved card, one invoice
  // per contract) is charged invoice by invoice and booked for all together; the rest (nothing
  // left, no card, a contract's second invoice) is settled one by one.
  const byCard: CardInvoice[] = [];
  const onCard = new Set<string>();
  for (const invoice of invoices) {
    const f = factsOf.get(invoice.id);
    const contract = byContract.get(invoice.contract_id)!;
    if (!f) note(`skipped ${invoice.status}`);
    else if (f.held) note('skipped disputed');
    else {
      const inv = f.escrow && contract.status === 'active' ? await drawOnEscrow(ctx, contract, invoice) : invoice;
      if (balanceDue(inv) > 0 && f.default_payment_method && !onCard.has(contract.id)) {
        onCard.add(contract.id);
        byCard.push({ contract, invoice: inv, method: f.default_payment_method });
      } else note((await settleInvoice(ctx, contract, inv, 'schedule', undefined, { escrow: false, defaultMethod: f.default_payment_method })).status);
    }
  }
  const taken: TakenCharge[] = [];
  for (const c of byCard) {
    const charged = await chargeInvoice(ctx, c, 'schedule');
    if ('row' in charged) note(charged.row.status);
    else taken.push(charged);
  }
  for (const row of await bookInvoiceCharges(ctx, taken)) note(row.status);
  return [...outcomes].map(([k, n]) => `${n} ${k}`).join(', ') || 'no invoice';
}

/** State job `invoice_retry`: the daily retry of a past-due invoice. */
export async function retryPastDueInvoice(ctx: UseCaseCtx, invoiceId: string, retry: number): Promise<string> {
  const { invoice, contract } = await loadInvoice(ctx, invoiceId, true);
  if (invoice.status !== 'past_due' || invoice.charge_pending || invoice.retries >= retry) return `skipped: ${invoice.status}`;
  const row = await settleInvoice(ctx, contract, await updateInvoice(ctx.tx, invoice.id, { retries: retry }, ctx.now), 'retry');
  return row.status;
}

/** State job `settle_invoice_charge`: how a card charge that answered `pending` ended. */
export async function settleInvoiceCharge(ctx: UseCaseCtx, invoiceId: string, paymentId: string): Promise<string> {
  const { invoice, contract } = await loadInvoice(ctx, invoiceId, true);
  const [p] = await ctx.tx.query<PaymentRow>('SELECT * FROM payments WHERE id = $1 FOR UPDATE', [paymentId]);
  if (!p || p.status !== 'processing' || !p.provider_ref) return 'already settled';
  const outcome = await ctx.deps.provider.settle(p.provider_ref);
  if (outcome === 'pending') throw new RetryLater('charge still pending');
  if (outcome === 'failed') {
    await ctx.tx.query("UPDATE payments SET status = 'failed', version = version + 1, updated_at = $2 WHERE id = $1", [p.id, ctx.now]);
    await pastDue(ctx, contract, invoice, 'the card charge failed');
    return 'failed';
  }
  const fee = feeOf(p.amount, contract.policy.platformFee.clientBps);
  await completePayment(ctx, contract, p, p.provider_ref, fee);
  const inv = await updateInvoice(ctx.tx, invoice.id, { charged: invoice.charged + p.amount, client_fee: invoice.client_fee + fee, charge_pending: false }, ctx.now);
  return balanceDue(inv) === 0 ? (await markPaid(ctx, contract, inv)).status : inv.status;
}

/** The client pays an open or past-due invoice now (escrow first, then the card named or their default). */
export async function payInvoice(ctx: UseCaseCtx, invoiceId: string, input: { paymentMethod?: string; expectedVersion?: number }): Promise<InvoiceRow> {
  const { invoice, contract, role } = await loadInvoice(ctx, invoiceId, true);
  if (role !== 'client') throw forbidden('only the client pays an invoice');
  assertVersion(invoice, input.expectedVersion);
  if (invoice.status === 'paid' || invoice.status === 'void') throw invalidState('invoice', invoice.status);
  if (invoice.charge_pending) throw invalidState('invoice', invoice.status, 'a card charge for this invoice is still settling');
  if (await isHeldByDispute(ctx, invoice)) throw invalidState('invoice', 'disputed', 'the invoice is disputed: it is paid when the dispute is resolved');
  // Four eyes: at or above the client organisation's threshold, a first member's payment
  // charges nothing and waits for a second member's (the same member again: 403).
  const due = balanceDue(invoice);
  const threshold = ctx.principal.userId !== null ? await approvalThresholdOf(ctx.tx, contract.client_id, contract.currency) : null;
  if (threshold !== null && due >= threshold) {
    if (invoice.approval_by === ctx.principal.userId) {
      throw new AppError('second_approver_required', `invoice ${invoice.number} is at or above the organisation's approval threshold of ${threshold}: another member must pay it`, {
        invoiceId: invoice.id, approvedBy: invoice.approval_by, threshold,
      });
    }
    if (!invoice.approval_by) {
      const row = await updateInvoice(ctx.tx, invoice.id, { approval_by: ctx.principal.userId, approval_at: ctx.now }, ctx.now);
      await recordEvent(ctx, contract, { kind: 'invoice.approval_pending', actorRole: 'client', notify: ['client'], data: { invoiceId: invoice.id, number: invoice.number, amount: due } });
      return row;
    }
  }
  return settleInvoice(ctx, contract, invoice, 'client', input.paymentMethod);
}

/** The platform admin voids an invoice nothing was paid on yet. */
export async function voidInvoice(ctx: UseCaseCtx, invoiceId: string): Promise<InvoiceRow> {
  const { invoice, contract, role } = await loadInvoice(ctx, invoiceId, true);
  if (role !== 'admin' || ctx.principal.userId !== null) throw forbidden('only the platform admin voids an invoice');
  if (invoice.status === 'paid' || invoice.status === 'void') throw invalidState('invoice', invoice.status);
  if (invoice.paid_from_escrow + invoice.charged > 0 || invoice.charge_pending) throw invalidState('invoice', invoice.status, 'part of this invoice is paid already');
  if (await isHeldByDispute(ctx, invoice)) throw invalidState('invoice', 'disputed', 'resolve the dispute instead');
  const row = await updateInvoice(ctx.tx, invoice.id, { status: 'void', voided_at: ctx.now }, ctx.now);
  await recordEvent(ctx, contract, { kind: 'invoice.voided', actorRole: 'admin', data: { invoiceId: invoice.id, number: invoice.number, amount: invoice.amount } });
  return row;
}
