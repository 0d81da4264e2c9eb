import { findContract, type ContractRow } from '../../db/repos/contracts.ts';
import { findInvoice, updateInvoice, type InvoiceRow } from '../../db/repos/hourly.ts';
import { toState, type MilestoneRow } from '../../db/repos/milestones.ts';
import { AppError, forbidden, invalidState, notFound } from '../../domain/errors.ts';
import { PAST_DUE_RETRIES } from '../../domain/hourly.ts';
import { newId } from '../../domain/ids.ts';
import { escrowHeld, transition, type MilestoneState } from '../../domain/milestone-machine.ts';
import { cumulativeFee, feeOf } from '../../domain/money.ts';
import { directPaymentPostings, releasePostings } from '../../ledger/flows.ts';
import { postEntries } from '../../ledger/postings.ts';
import { approvalThresholdOf } from '../../db/repos/organizations.ts';
import { partyRole, type ContractRole } from '../access.ts';
import type { UseCaseCtx } from '../context.ts';
import { partiesOf, resolvePaymentMethod } from '../money.ts';
import { completePayment, type PaymentRow } from '../pay-payments.ts';
import { fundingChargeOf, releasesTransfer, transferToContractor } from '../payments/transfers.ts';
import { enqueueJob, recordEvent, recordEvents } from '../record.ts';
import { assertVersion } from '../run-milestone-command.ts';
import { requestOperation, requestOperations, type OperationRow } from '../payments/operations.ts';
import type { BatchBooker, Booker, BookingCtx } from '../payments/perform-operation.ts';

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
 * Pays what is left of an invoice (contract and invoice locked): first from the contract's
 * escrowed milestone payments, oldest first, partially if need be (each an escrow release of
 * that milestone, with its contractor fee: its own journal entry and contractor payment, in this
 * transaction); the rest is a card charge to the client's payment method, requested here as a
 * provider operation and made after commit (the invoice `chargePending` meanwhile), booked with
 * the provider's answer (bookInvoiceAnswers).
 */
export async function settleInvoice(ctx: UseCaseCtx, contract: ContractRow, invoice: InvoiceRow, mode: Mode, paymentMethod?: string): Promise<InvoiceRow> {
  const inv = (await drawOnEscrow(ctx, [{ contract, invoice }]))[0]!;
  if (balanceDue(inv) > 0) {
    const method = mode === 'client' ? await resolvePaymentMethod(ctx, contract, paymentMethod) : await defaultMethod(ctx, contract);
    if (!method) return pastDue(ctx, contract, inv, 'the client has no default payment method');
    return (await requestInvoiceCharges(ctx, [{ contract, invoice: inv, method }], mode))[0]!;
  }
  return markPaid(ctx, contract, inv);
}

type Due = { contract: ContractRow; invoice: InvoiceRow };
type Draw = Due & { milestone: MilestoneRow; next: MilestoneState; amount: number; fee: number; paymentId: string };

/**
 * Pays what it can of invoices from their contracts' escrowed milestone payments (contracts and
 * invoices locked), oldest first, partially if need be: each an escrow release of that
 * milestone — the pure release transition, its contractor fee on everything the milestone
 * released so far, its own `escrow_release` journal entry, a contractor payment linked to the
 * invoice and a `milestone.released` event, as applyMoneyEffects books a release — set-based:
 * a handful of statements for a whole Wednesday batch. Returns the invoices as they are then.
 */
async function drawOnEscrow(ctx: UseCaseCtx, due: Due[]): Promise<InvoiceRow[]> {
  const open = due.filter((d) => balanceDue(d.invoice) > 0 && d.contract.status === 'active');
  if (open.length === 0) return due.map((d) => d.invoice);
  const { tx, now } = ctx;
  const held = await tx.query<MilestoneRow>(
    `SELECT * FROM milestones WHERE contract_id = ANY($1) AND status IN ('funded', 'submitted') AND NOT funding_pending AND escrow_frozen_by IS NULL
       AND funded_amount - released_amount - refunded_amount > 0
     ORDER BY contract_id, created_at, id FOR UPDATE`,
    [[...new Set(open.map((d) => d.contract.id))]],
  );
  const ofContract = new Map<string, MilestoneRow[]>();
  for (const m of held) ofContract.set(m.contract_id, [...(ofContract.get(m.contract_id) ?? []), m]);
  const draws: Draw[] = [];
  for (const { contract, invoice } of open) {
    let rest = balanceDue(invoice);
    const milestones = ofContract.get(contract.id) ?? [];
    for (let k = 0; k < milestones.length && rest > 0; k++) {
      const m = milestones[k]!;
      const amount = Math.min(escrowHeld(toState(m)), rest);
      if (amount === 0) continue;
      const t = transition(toState(m), { type: 'release', amount }, { role: 'client' }, contract.policy, { contractStatus: contract.status, currency: contract.currency, otherOpenFunded: 0 });
      if (!t.ok) throw t.error;
      const fee = cumulativeFee(t.next.releasedAmount, contract.policy.platformFee.contractorBps, m.contractor_fee_charged);
      draws.push({ contract, invoice, milestone: m, next: t.next, amount, fee, paymentId: newId('payment') });
      // A contract's next invoice in the batch draws on what is left.
      milestones[k] = { ...m, status: t.next.status, released_amount: t.next.releasedAmount, contractor_fee_charged: m.contractor_fee_charged + fee };
      rest -= amount;
    }
  }
  if (draws.length === 0) return due.map((d) => d.invoice);
  const platformId = draws[0]!.contract.platform_id;
  await tx.query(
    `INSERT INTO payments (id, platform_id, contract_id, milestone_id, client_id, contractor_id, kind, amount, fee, currency, status, invoice_id, paid_at, created_at, updated_at)
     SELECT x.id, $1, x.contract_id, x.milestone_id, x.client_id, x.contractor_id, 'invoice', x.amount, x.fee, x.currency, 'paid', x.invoice_id, $2, $2, $2
     FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bigint[], $10::text[], $11::text[])
       AS x(id, contract_id, milestone_id, client_id, contractor_id, amount, fee, currency, invoice_id)`,
    [
      platformId, now, draws.map((d) => d.paymentId), draws.map((d) => d.contract.id), draws.map((d) => d.milestone.id), draws.map((d) => d.contract.client_id),
      draws.map((d) => d.contract.contractor_id), draws.map((d) => d.amount), draws.map((d) => d.fee), draws.map((d) => d.contract.currency), draws.map((d) => d.invoice.id),
    ],
  );
  // One entry per contract and statement: a contract's second draw goes in the next round, after its first in its chain.
  for (let left = draws; left.length > 0; ) {
    const seen = new Set<string>();
    const round = left.filter((d) => !seen.has(d.contract.id) && seen.add(d.contract.id));
    left = left.filter((d) => !round.includes(d));
    await postEntries(
      tx,
      platformId,
      now,
      round.map((d) => ({
        contractId: d.contract.id,
        milestoneId: d.milestone.id,
        currency: d.contract.currency,
        kind: 'escrow_release',
        reference: `release:${d.paymentId}`,
        postings: releasePostings(partiesOf(d.contract), d.milestone.id, d.amount, d.fee),
      })),
    );
  }
  // With a provider of connected accounts (Stripe), what each draw leaves the contractor goes on
  // as a transfer, as a milestone's release does (money.ts); the sandbox keeps it in the balance.
  if (releasesTransfer(ctx)) {
    for (const d of draws) {
      const sourceCharge = await fundingChargeOf(ctx, d.milestone.id, Number(d.milestone.released_amount) + d.amount);
      await transferToContractor(ctx, d.contract, { paymentId: d.paymentId, milestoneId: d.milestone.id, amount: d.amount - d.fee, sourceCharge });
    }
  }
  // Each milestone as its last draw left it, its version counting every release.
  const last = new Map<string, { d: Draw; releases: number; fees: number }>();
  for (const d of draws) {
    const was = last.get(d.milestone.id);
    last.set(d.milestone.id, { d, releases: (was?.releases ?? 0) + 1, fees: (was?.fees ?? 0) + d.fee });
  }
  const ms = [...last.values()];
  await tx.query(
    `UPDATE milestones m SET status = x.status, released_amount = x.released, contractor_fee_charged = m.contractor_fee_charged + x.fees,
       version = m.version + x.releases, updated_at = $1
     FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::int[]) AS x(id, status, released, fees, releases) WHERE m.id = x.id`,
    [now, ms.map((x) => x.d.milestone.id), ms.map((x) => x.d.next.status), ms.map((x) => x.d.next.releasedAmount), ms.map((x) => x.fees), ms.map((x) => x.releases)],
  );
  const drawn = new Map<string, number>();
  for (const d of draws) drawn.set(d.invoice.id, (drawn.get(d.invoice.id) ?? 0) + d.amount);
  const rows = await tx.query<InvoiceRow>(
    `UPDATE invoices i SET paid_from_escrow = i.paid_from_escrow + x.amount, version = i.version + 1, updated_at = $1
     FROM unnest($2::text[], $3::bigint[]) AS x(id, amount) WHERE i.id = x.id RETURNING i.*`,
    [now, [...drawn.keys()], [...drawn.values()]],
  );
  await recordEvents(
    ctx,
    draws.map((d) => ({
      contract: d.contract,
      ev: {
        kind: 'milestone.released' as const,
        actorRole: 'system' as const,
        milestoneId: d.milestone.id,
        data: { title: d.milestone.title, amount: d.amount, status: d.next.status, invoiceId: d.invoice.id, number: d.invoice.number },
      },
    })),
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  return due.map((d) => byId.get(d.invoice.id) ?? d.invoice);
}

type CardInvoice = { contract: ContractRow; invoice: InvoiceRow; method: string };
/** What the charge's booking needs: the invoice's `rest` and the client `fee` on it, the attempt, who pays how. */
type InvoiceChargeDetails = { rest: number; fee: number; attempt: number; mode: Mode; actorId: string | null; clientId: string; description: string };

/**
 * Card charges of what is left of invoices, first phase (set-based, in the caller's
 * transaction): one provider operation each, keyed by invoice and attempt (`invoice:<id>:<n>`),
 * and the invoice `chargePending` with the attempt counted — which holds it from another
 * payment, a dispute, a void and the next job until the answer is booked. The caller's runner
 * (the HTTP request, the worker) makes the calls after commit.
 */
async function requestInvoiceCharges(ctx: UseCaseCtx, all: CardInvoice[], mode: Mode): Promise<InvoiceRow[]> {
  // An amount the provider cannot charge (under Stripe's minimum): the client paying by hand is
  // told so (422 amount_below_minimum); a job leaves that invoice past due, told, and pays the rest.
  const tooSmall = new Map<string, CardInvoice>();
  if (mode !== 'client') {
    for (const c of all) {
      const rest = balanceDue(c.invoice);
      try {
        ctx.deps.provider.assertChargeable(rest + feeOf(rest, c.contract.policy.platformFee.clientBps), c.contract.currency);
      } catch (e) {
        if (!(e instanceof AppError)) throw e;
        tooSmall.set(c.invoice.id, c);
      }
    }
  }
  const cards = all.filter((c) => !tooSmall.has(c.invoice.id));
  const refused = new Map<string, InvoiceRow>();
  for (const c of tooSmall.values()) refused.set(c.invoice.id, await pastDue(ctx, c.contract, c.invoice, 'amount_below_minimum'));
  if (cards.length === 0) return all.map((c) => refused.get(c.invoice.id)!);
  const details = cards.map(({ contract, invoice }): InvoiceChargeDetails => {
    const rest = balanceDue(invoice);
    return {
      rest,
      fee: feeOf(rest, contract.policy.platformFee.clientBps),
      attempt: invoice.charge_attempts + 1,
      mode,
      actorId: ctx.principal.userId,
      clientId: contract.client_id,
      description: `Invoice ${invoice.number}`,
    };
  });
  await requestOperations(
    ctx,
    cards.map(({ contract, invoice, method }, i) => ({
      operation: 'charge' as const,
      purpose: 'invoice' as const,
      platformId: contract.platform_id,
      contractId: contract.id,
      subjectId: invoice.id,
      amount: details[i]!.rest + details[i]!.fee,
      currency: contract.currency,
      idempotencyKey: `invoice:${invoice.id}:${details[i]!.attempt}`,
      paymentMethod: method,
      details: details[i],
    })),
  );
  const rows = await ctx.tx.query<InvoiceRow>(
    `UPDATE invoices i SET charge_pending = true, charge_attempts = x.attempt, version = i.version + 1, updated_at = $1
     FROM unnest($2::text[], $3::int[]) AS x(id, attempt) WHERE i.id = x.id RETURNING i.*`,
    [ctx.now, cards.map((c) => c.invoice.id), details.map((d) => d.attempt)],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  return all.map((c) => byId.get(c.invoice.id) ?? refused.get(c.invoice.id)!);
}

/** A charge the provider took at once, to book: `rest` of the invoice plus the client `fee`. */
type TakenCharge = { operationId: string; contract: ContractRow; invoice: InvoiceRow; rest: number; fee: number; attempt: number; reference: string };

/**
 * Invoice card charges, second phase: the provider's answers, booked in one transaction (the
 * caller locked the contracts and the operations). Taken at once: the contractor's payment, a
 * `direct_payment` entry, the invoice paid (bookInvoiceCharges, set-based). Accepted to settle
 * later: a processing payment, the invoice still `chargePending` until the worker's sweep asks
 * how it ended. Declined, or failed when settling: the invoice past due, both parties told, retried
 * daily — except the client's own payment with the client waiting for the answer (402, the invoice
 * as it was).
 */
export const bookInvoiceAnswers: BatchBooker = async (ctx, answered) => {
  const contracts = new Map(
    (await ctx.tx.query<ContractRow>('SELECT * FROM contracts WHERE id = ANY($1)', [[...new Set(answered.map((a) => a.op.contract_id!))]])).map((c) => [c.id, c]),
  );
  const invoices = new Map(
    (await ctx.tx.query<InvoiceRow>('SELECT * FROM invoices WHERE id = ANY($1) ORDER BY id FOR UPDATE', [answered.map((a) => a.op.subject_id!)])).map((i) => [i.id, i]),
  );
  const refs = new Map<string, string>();
  const taken: TakenCharge[] = [];
  for (const { op, answer } of answered) {
    const contract = contracts.get(op.contract_id!)!;
    const invoice = invoices.get(op.subject_id!)!;
    const d = op.details as InvoiceChargeDetails;
    if (answer.status === 'failed') await chargeFailed(ctx, contract, invoice, op, answer.code);
    else if (answer.status === 'processing') await chargeProcessing(ctx, contract, invoice, d, answer.reference);
    else if (op.status === 'pending') taken.push({ operationId: op.id, contract, invoice, rest: d.rest, fee: d.fee, attempt: d.attempt, reference: answer.reference });
    else {
      await chargeSettled(ctx, contract, invoice, d, answer.reference);
      refs.set(op.id, `charge:${answer.reference}`);
    }
  }
  // bookInvoiceCharges posts one entry per contract and statement: a contract's second invoice waits for the next round.
  for (let rest = taken; rest.length > 0; ) {
    const seen = new Set<string>();
    const round = rest.filter((t) => !seen.has(t.contract.id) && seen.add(t.contract.id));
    rest = rest.filter((t) => !round.includes(t));
    await bookInvoiceCharges(ctx, round);
  }
  for (const t of taken) refs.set(t.operationId, `charge:${t.reference}`);
  return answered.map((a) => ({ entryReference: refs.get(a.op.id) ?? null }));
};

export const bookInvoiceAnswer: Booker = async (ctx, op, answer) => (await bookInvoiceAnswers(ctx, [{ op, answer }]))[0]!;

/** Accepted, to settle later: a processing payment of the invoice with the provider's reference. */
async function chargeProcessing(ctx: UseCaseCtx, contract: ContractRow, invoice: InvoiceRow, d: InvoiceChargeDetails, reference: string): Promise<void> {
  await ctx.tx.query(
    `INSERT INTO payments (id, platform_id, contract_id, milestone_id, client_id, contractor_id, kind, amount, fee, currency, status, provider_ref, invoice_id, created_at, updated_at)
     VALUES ($1,$2,$3,NULL,$4,$5,'invoice',$6,0,$7,'processing',$8,$9,$10,$10)`,
    [newId('payment'), contract.platform_id, contract.id, contract.client_id, contract.contractor_id, d.rest, contract.currency, reference, invoice.id, ctx.now],
  );
}

/** A processing charge settled: its payment paid (a direct_payment entry), the invoice charged and paid if nothing is left. */
async function chargeSettled(ctx: UseCaseCtx, contract: ContractRow, invoice: InvoiceRow, d: InvoiceChargeDetails, reference: string): Promise<void> {
  const [p] = await ctx.tx.query<PaymentRow>("SELECT * FROM payments WHERE invoice_id = $1 AND provider_ref = $2 AND status = 'processing' FOR UPDATE", [invoice.id, reference]);
  if (!p) throw new Error(`invoice ${invoice.id}: no processing payment for charge ${reference}`);
  await completePayment(ctx, contract, p, reference, d.fee);
  const inv = await updateInvoice(ctx.tx, invoice.id, { charged: invoice.charged + p.amount, client_fee: invoice.client_fee + d.fee, charge_pending: false }, ctx.now);
  if (balanceDue(inv) === 0) await markPaid(ctx, contract, inv);
}

/** Declined at once, or failed when settling (its processing payment failed). */
async function chargeFailed(ctx: BookingCtx, contract: ContractRow, invoice: InvoiceRow, op: OperationRow, code: string): Promise<void> {
  if (op.status === 'processing') {
    await ctx.tx.query("UPDATE payments SET status = 'failed', version = version + 1, updated_at = $3 WHERE invoice_id = $1 AND provider_ref = $2 AND status = 'processing'", [
      invoice.id, op.provider_ref, ctx.now,
    ]);
    await pastDue(ctx, contract, invoice, 'the card charge failed');
  } else if ((op.details as InvoiceChargeDetails).mode === 'client' && ctx.told) {
    await updateInvoice(ctx.tx, invoice.id, { charge_pending: false }, ctx.now);
  } else await pastDue(ctx, contract, invoice, `the card was declined (${code})`);
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
       charge_attempts = x.attempt, charge_pending = false, version = i.version + 1, updated_at = $1
     FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::int[]) AS x(id, rest, fee, attempt)
     WHERE i.id = x.id RETURNING i.*`,
    [now, taken.map((t) => t.invoice.id), taken.map((t) => t.rest), taken.map((t) => t.fee), taken.map((t) => t.attempt)],
  );
  if (releasesTransfer(ctx)) {
    for (const [i, t] of taken.entries()) {
      await transferToContractor(ctx, t.contract, { paymentId: paymentIds[i]!, milestoneId: null, amount: t.rest - contractorFees[i]!, sourceCharge: t.reference });
    }
  }
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
 * card charge requested as a provider operation (made by the worker after this job commits and
 * booked with its answer, the batch's answers together) — skipping those a dispute holds, those
 * already paid and those whose charge is on its way. The batch's contracts are locked in id
 * order (as bulk payment does), then its invoices. Idempotent per invoice: only an open invoice
 * with no charge on its way is paid, and the charge is keyed by invoice and attempt. If the batch
 * fails (an error), its retry splits it into one job per invoice, so one invoice that keeps
 * failing delays no other.
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
       EXISTS (SELECT 1 FROM milestones m WHERE m.contract_id = i.contract_id AND m.status IN ('funded', 'submitted') AND NOT m.funding_pending AND m.escrow_frozen_by IS NULL
                 AND m.funded_amount - m.released_amount - m.refunded_amount > 0) AS escrow
     FROM invoices i LEFT JOIN users u ON u.id = i.client_id LEFT JOIN organizations o ON o.id = i.client_id
     WHERE i.id = ANY($1) AND i.status = 'open' AND NOT i.charge_pending`,
    [invoiceIds],
  );
  const byContract = new Map(contracts.map((c) => [c.id, c]));
  const factsOf = new Map(facts.map((f) => [f.id, f]));
  const outcomes = new Map<string, number>();
  const note = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  // Escrow is drawn on for all at once; what is left for a saved card is requested for all together.
  const payable: Due[] = [];
  for (const invoice of invoices) {
    const f = factsOf.get(invoice.id);
    if (!f) note(`skipped ${invoice.charge_pending ? 'charge on its way' : invoice.status}`);
    else if (f.held) note('skipped disputed');
    else payable.push({ contract: byContract.get(invoice.contract_id)!, invoice });
  }
  const drawn = new Map((await drawOnEscrow(ctx, payable.filter((d) => factsOf.get(d.invoice.id)!.escrow))).map((r) => [r.id, r]));
  const byCard: CardInvoice[] = [];
  for (const { contract, invoice } of payable) {
    const inv = drawn.get(invoice.id) ?? invoice;
    const method = factsOf.get(invoice.id)!.default_payment_method;
    if (balanceDue(inv) === 0) note((await markPaid(ctx, contract, inv)).status);
    else if (!method) note((await pastDue(ctx, contract, inv, 'the client has no default payment method')).status);
    else byCard.push({ contract, invoice: inv, method });
  }
  for (const row of await requestInvoiceCharges(ctx, byCard, 'schedule')) note(row.charge_pending ? 'charge requested' : row.status);
  return [...outcomes].map(([k, n]) => `${n} ${k}`).join(', ') || 'no invoice';
}

/** State job `invoice_retry`: the daily retry of a past-due invoice. */
export async function retryPastDueInvoice(ctx: UseCaseCtx, invoiceId: string, retry: number): Promise<string> {
  const { invoice, contract } = await loadInvoice(ctx, invoiceId, true);
  if (invoice.status !== 'past_due' || invoice.charge_pending || invoice.retries >= retry) return `skipped: ${invoice.status}`;
  const row = await settleInvoice(ctx, contract, await updateInvoice(ctx.tx, invoice.id, { retries: retry }, ctx.now), 'retry');
  return row.status;
}

/**
 * State job `settle_invoice_charge`, left by charges made before invoice charges were provider
 * operations: hands the processing charge to one (status `processing`), which the worker's
 * sweep settles with the provider after commit and books as any invoice charge.
 */
export async function settleInvoiceCharge(ctx: UseCaseCtx, invoiceId: string, paymentId: string): Promise<string> {
  const { invoice, contract } = await loadInvoice(ctx, invoiceId, true);
  const [p] = await ctx.tx.query<PaymentRow>('SELECT * FROM payments WHERE id = $1 FOR UPDATE', [paymentId]);
  if (!p || p.status !== 'processing' || !p.provider_ref) return 'already settled';
  const fee = feeOf(p.amount, contract.policy.platformFee.clientBps);
  const details: InvoiceChargeDetails = { rest: p.amount, fee, attempt: invoice.charge_attempts, mode: 'schedule', actorId: null, clientId: contract.client_id, description: `Invoice ${invoice.number}` };
  const id = await requestOperation(ctx, {
    operation: 'charge',
    purpose: 'invoice',
    platformId: contract.platform_id,
    contractId: contract.id,
    subjectId: invoice.id,
    amount: p.amount + fee,
    currency: contract.currency,
    idempotencyKey: `invoice:${invoice.id}:${invoice.charge_attempts}`,
    details,
  });
  await ctx.tx.query("UPDATE provider_operations SET status = 'processing', provider_ref = $2, next_attempt_at = $3 WHERE id = $1", [id, p.provider_ref, ctx.now]);
  return 'handed to a provider operation';
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
