import { findContract, type ContractRow } from '../../db/repos/contracts.ts';
import { findMilestone, saveMilestoneState, toState, type MilestoneRow } from '../../db/repos/milestones.ts';
import { formatMoney } from '../../domain/money.ts';
import { newId } from '../../domain/ids.ts';
import { chargebackSplit } from '../../domain/chargebacks.ts';
import { chargebackLostPostings } from '../../ledger/flows.ts';
import { postEntry } from '../../ledger/postings.ts';
import type { UseCaseCtx } from '../context.ts';
import { emailPlatformAdmin, recordEvent, recordPlatformEvent } from '../record.ts';

/**
 * Chargebacks (issue 14, item 3): the client's bank disputes a card payment. Opened, it freezes
 * the escrow of the milestone the charge funded (the milestone machine refuses every command that
 * would move it: 409 escrow_frozen), and both parties and the platform's admin are told. Won,
 * the escrow is free again and nothing moves. Lost, the disputed amount leaves for the world in
 * one journal entry (`chargeback:<id>`): what the milestone still holds first (the milestone is
 * refunded by it), then the client fee the charge paid, the rest (money already released) as the
 * platform's loss (`platform:losses`). Once per provider dispute: replayed or out-of-order events
 * change nothing twice (a `closed` before its `created` opens and closes it at once).
 */

/** A dispute as Stripe sends it (`charge.dispute.*` events' object); the sandbox builds the same. */
export type DisputeObject = {
  id: string;
  charge: string | { id: string } | null;
  payment_intent?: string | { id: string } | null;
  amount: number;
  currency: string;
  /** Stripe's dispute status: `won`, `lost`, `warning_closed` … when closed. */
  status: string;
};
export type DisputeEvent = { id?: string; data: { object: DisputeObject } };

export type ChargebackRow = {
  id: string;
  platform_id: string;
  provider: string;
  provider_dispute_id: string;
  charge_reference: string;
  operation_id: string | null;
  contract_id: string | null;
  milestone_id: string | null;
  payment_id: string | null;
  amount: number;
  currency: string;
  status: 'open' | 'won' | 'lost';
  from_escrow: number | null;
  fee_back: number | null;
  platform_loss: number | null;
  entry_reference: string | null;
  opened_at: Date;
  closed_at: Date | null;
  updated_at: Date;
};

const idOf = (x: string | { id: string } | null | undefined) => (typeof x === 'string' ? x : (x?.id ?? null));

/** What the disputed charge paid for, found by the provider's references (PaymentIntent and/or charge). */
type ChargeOrigin = { reference: string; operationId: string | null; contractId: string | null; milestoneId: string | null; paymentId: string | null; clientFee: number };

async function findOrigin(ctx: UseCaseCtx, refs: string[]): Promise<ChargeOrigin | null> {
  const platformId = ctx.principal.platformId;
  const [op] = await ctx.tx.query<{ id: string; provider_ref: string; contract_id: string | null; milestone_id: string | null; subject_id: string | null; purpose: string; details: Record<string, unknown> }>(
    `SELECT id, provider_ref, contract_id, milestone_id, subject_id, purpose, details FROM provider_operations
     WHERE platform_id = $1 AND operation = 'charge' AND provider_ref = ANY($2) ORDER BY created_at DESC LIMIT 1`,
    [platformId, refs],
  );
  if (op) {
    const escrow = op.purpose === 'funding' || op.purpose === 'milestone_request';
    const [funding] = escrow ? await ctx.tx.query<{ client_fee: number }>('SELECT client_fee FROM fundings WHERE platform_id = $1 AND provider_ref = $2', [platformId, op.provider_ref]) : [];
    // A draft payment's charge is its subject; an invoice's charge paid the contractor's payment made with it.
    const [payment] = escrow ? [] : await ctx.tx.query<{ id: string }>('SELECT id FROM payments WHERE platform_id = $1 AND provider_ref = $2', [platformId, op.provider_ref]);
    return {
      reference: op.provider_ref, operationId: op.id, contractId: op.contract_id, milestoneId: escrow ? op.milestone_id : null,
      paymentId: escrow ? null : (payment?.id ?? (op.purpose === 'payment' ? op.subject_id : null)),
      clientFee: Number(funding?.client_fee ?? op.details.clientFee ?? op.details.fee ?? 0),
    };
  }
  // Charges made before provider operations (or outside them): a deposit, or a payment's charge.
  const [funding] = await ctx.tx.query<{ provider_ref: string; contract_id: string; milestone_id: string; client_fee: number }>(
    'SELECT provider_ref, contract_id, milestone_id, client_fee FROM fundings WHERE platform_id = $1 AND provider_ref = ANY($2) LIMIT 1',
    [platformId, refs],
  );
  if (funding) return { reference: funding.provider_ref, operationId: null, contractId: funding.contract_id, milestoneId: funding.milestone_id, paymentId: null, clientFee: Number(funding.client_fee) };
  const [payment] = await ctx.tx.query<{ id: string; provider_ref: string; contract_id: string }>(
    'SELECT id, provider_ref, contract_id FROM payments WHERE platform_id = $1 AND provider_ref = ANY($2) LIMIT 1',
    [platformId, refs],
  );
  if (payment) return { reference: payment.provider_ref, operationId: null, contractId: payment.contract_id, milestoneId: null, paymentId: payment.id, clientFee: 0 };
  return null;
}

const toNumbers = (r: ChargebackRow): ChargebackRow => ({
  ...r,
  amount: Number(r.amount),
  from_escrow: r.from_escrow === null ? null : Number(r.from_escrow),
  fee_back: r.fee_back === null ? null : Number(r.fee_back),
  platform_loss: r.platform_loss === null ? null : Number(r.platform_loss),
});

async function findChargeback(ctx: UseCaseCtx, disputeId: string, lock = false): Promise<ChargebackRow | undefined> {
  const [row] = await ctx.tx.query<ChargebackRow>(
    `SELECT * FROM chargebacks WHERE platform_id = $1 AND provider = $2 AND provider_dispute_id = $3${lock ? ' FOR UPDATE' : ''}`,
    [ctx.principal.platformId, ctx.deps.provider.name, disputeId],
  );
  return row && toNumbers(row);
}

/** The contract (locked first, as every command locks it) and milestone (locked) of a chargeback's charge. */
async function lockSubject(ctx: UseCaseCtx, contractId: string | null, milestoneId: string | null) {
  const contract = contractId ? await findContract(ctx.tx, ctx.principal.platformId, contractId, true) : undefined;
  const milestone = contract && milestoneId ? await findMilestone(ctx.tx, contract.platform_id, milestoneId, true) : undefined;
  return { contract, milestone };
}

const held = (m: MilestoneRow) => m.funded_amount - m.released_amount - m.refunded_amount;

/** `charge.dispute.created`: records the chargeback once, freezes the escrow, tells the parties and the admin. */
export async function applyChargebackCreated(ctx: UseCaseCtx, event: DisputeEvent): Promise<ChargebackRow> {
  return (await openChargeback(ctx, event.data.object)).chargeback;
}

async function openChargeback(ctx: UseCaseCtx, d: DisputeObject): Promise<{ chargeback: ChargebackRow; opened: boolean }> {
  const existing = await findChargeback(ctx, d.id);
  if (existing) return { chargeback: existing, opened: false };
  const refs = [idOf(d.payment_intent), idOf(d.charge)].filter((r): r is string => Boolean(r));
  const origin = await findOrigin(ctx, refs);
  const { contract, milestone } = await lockSubject(ctx, origin?.contractId ?? null, origin?.milestoneId ?? null);
  const currency = d.currency.toUpperCase();
  const [row] = await ctx.tx.query<ChargebackRow>(
    `INSERT INTO chargebacks (id, platform_id, provider, provider_dispute_id, charge_reference, operation_id, contract_id, milestone_id, payment_id,
       amount, currency, status, opened_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,'open',$12,$12)
     ON CONFLICT (platform_id, provider, provider_dispute_id) DO NOTHING RETURNING *`,
    [
      newId('chargeback'), ctx.principal.platformId, ctx.deps.provider.name, d.id, origin?.reference ?? refs[0] ?? 'unknown', origin?.operationId ?? null,
      contract?.id ?? null, milestone?.id ?? null, origin?.paymentId ?? null, d.amount, currency, ctx.now,
    ],
  );
  // A concurrent delivery of the same event recorded it first.
  if (!row) return { chargeback: (await findChargeback(ctx, d.id))!, opened: false };
  const cb = toNumbers(row);
  const frozen = Boolean(milestone && held(milestone) > 0);
  if (frozen) await ctx.tx.query('UPDATE milestones SET escrow_frozen_by = COALESCE(escrow_frozen_by, $2) WHERE id = $1', [milestone!.id, cb.id]);
  await tell(ctx, cb, contract, milestone, { frozen });
  return { chargeback: cb, opened: true };
}

/**
 * `charge.dispute.closed`: won (or an inquiry closed), the escrow is free again; lost, the
 * disputed amount leaves in one journal entry. A dispute never seen opened is opened first.
 */
export async function applyChargebackClosed(ctx: UseCaseCtx, event: DisputeEvent): Promise<ChargebackRow> {
  const d = event.data.object;
  await openChargeback(ctx, d);
  const peek = (await findChargeback(ctx, d.id))!;
  const { contract, milestone } = await lockSubject(ctx, peek.contract_id, peek.milestone_id);
  const cb = (await findChargeback(ctx, d.id, true))!;
  if (cb.status !== 'open') return cb;
  const outcome = d.status === 'lost' ? 'lost' : 'won';
  let booked = { fromEscrow: 0, feeBack: 0, loss: 0 };
  let entryReference: string | null = null;
  if (outcome === 'lost' && contract) {
    booked = chargebackSplit({ amount: cb.amount, held: milestone ? held(milestone) : 0, feeAvailable: await feeAvailable(ctx, cb, milestone) });
    entryReference = `chargeback:${cb.id}`;
    await postEntry(ctx.tx, {
      platformId: contract.platform_id, contractId: contract.id, milestoneId: milestone?.id ?? null, currency: contract.currency, at: ctx.now,
      kind: 'chargeback_lost', reference: entryReference, postings: chargebackLostPostings({ contractId: contract.id, clientId: contract.client_id }, milestone?.id ?? null, booked),
    });
    if (milestone && booked.fromEscrow + booked.feeBack > 0) {
      const s = toState(milestone);
      const refunded = s.refundedAmount + booked.fromEscrow;
      const emptied = booked.fromEscrow > 0 && refunded + s.releasedAmount === s.fundedAmount;
      await saveMilestoneState(ctx.tx, milestone.id, { ...s, refundedAmount: refunded, status: emptied ? (s.releasedAmount > 0 ? 'paid' : 'refunded') : s.status }, ctx.now, {
        client_fee_refunded: milestone.client_fee_refunded + booked.feeBack,
      });
      // A dispute between the parties about escrow the bank has now taken back has nothing left to decide.
      if (emptied && milestone.status === 'disputed') await closeDisputeOf(ctx, contract, milestone, booked.fromEscrow);
    }
  }
  if (milestone) {
    // Another chargeback still open on the same milestone keeps it frozen.
    await ctx.tx.query(
      `UPDATE milestones SET escrow_frozen_by = (SELECT id FROM chargebacks WHERE milestone_id = $1 AND status = 'open' AND id <> $2 ORDER BY id LIMIT 1)
       WHERE id = $1 AND escrow_frozen_by IS NOT NULL`,
      [milestone.id, cb.id],
    );
  }
  const [row] = await ctx.tx.query<ChargebackRow>(
    `UPDATE chargebacks SET status = $2, from_escrow = $3, fee_back = $4, platform_loss = $5, entry_reference = $6, closed_at = $7, updated_at = $7
     WHERE id = $1 RETURNING *`,
    [cb.id, outcome, booked.fromEscrow, booked.feeBack, booked.loss, entryReference, ctx.now],
  );
  const closed = toNumbers(row!);
  await tell(ctx, closed, contract, milestone, {});
  return closed;
}

async function closeDisputeOf(ctx: UseCaseCtx, contract: ContractRow, milestone: MilestoneRow, refunded: number) {
  const [d] = await ctx.tx.query<{ id: string }>(
    `UPDATE disputes SET status = 'resolved', release_amount = 0, refund_amount = $2, resolution = 'chargeback', resolved_at = $3, updated_at = $3, version = version + 1
     WHERE milestone_id = $1 AND status <> 'resolved' RETURNING id`,
    [milestone.id, refunded, ctx.now],
  );
  if (d) {
    await recordEvent(ctx, contract, {
      kind: 'dispute.resolved', actorRole: 'system', milestoneId: milestone.id,
      data: { title: milestone.title, disputeId: d.id, releaseAmount: 0, refundAmount: refunded, resolution: 'chargeback' },
    });
  }
}

/** The client fee the disputed charge paid that is still the platform's (not given back by a refund). */
async function feeAvailable(ctx: UseCaseCtx, cb: ChargebackRow, milestone: MilestoneRow | undefined): Promise<number> {
  const [origin] = await ctx.tx.query<{ fee: number }>(
    `SELECT COALESCE((SELECT client_fee FROM fundings WHERE platform_id = $1 AND provider_ref = $2),
       (SELECT COALESCE(details->>'clientFee', details->>'fee')::bigint FROM provider_operations WHERE id = $3), 0)::bigint AS fee`,
    [cb.platform_id, cb.charge_reference, cb.operation_id],
  );
  const fee = Number(origin?.fee ?? 0);
  return milestone ? Math.max(0, Math.min(fee, milestone.client_fee_charged - milestone.client_fee_refunded)) : fee;
}

/** Both parties (on the contract's timeline) and the platform's admin (email); a charge of no contract: the admin only, and a platform webhook. */
async function tell(ctx: UseCaseCtx, cb: ChargebackRow, contract: ContractRow | undefined, milestone: MilestoneRow | undefined, extra: { frozen?: boolean }) {
  const data = {
    chargebackId: cb.id, disputeId: cb.provider_dispute_id, chargeReference: cb.charge_reference, amount: cb.amount, currency: cb.currency, status: cb.status,
    ...(cb.status !== 'open' ? { outcome: cb.status, fromEscrow: cb.from_escrow, feeBack: cb.fee_back, platformLoss: cb.platform_loss } : { frozen: extra.frozen ?? false }),
    ...(milestone ? { milestoneTitle: milestone.title } : {}),
    ...(cb.payment_id ? { paymentId: cb.payment_id } : {}),
  };
  const what = cb.status === 'open' ? 'opened' : `closed: ${cb.status}`;
  const email = {
    subject: `Chargeback ${what}: ${formatMoney(cb.amount, cb.currency)}`,
    text: [
      `The client's bank ${cb.status === 'open' ? 'disputes' : 'decided on'} card payment ${cb.charge_reference} (${formatMoney(cb.amount, cb.currency)}), dispute ${cb.provider_dispute_id}.`,
      contract ? `Contract: ${contract.title} (${contract.id})${milestone ? `, milestone “${milestone.title}” (${milestone.id})` : ''}.` : 'No contract of this platform made this charge: see the reconciliation reports.',
      cb.status === 'open' && extra.frozen ? 'The milestone’s escrow is frozen until the bank decides.' : '',
      cb.status === 'lost' ? `Booked: ${cb.from_escrow} from escrow, ${cb.fee_back} of client fee, ${cb.platform_loss} as the platform's loss (minor units).` : '',
    ].filter(Boolean).join('\n'),
  };
  if (!contract) {
    await recordPlatformEvent(ctx, cb.platform_id, { kind: 'chargeback.unmatched', data, email });
    return;
  }
  await recordEvent(ctx, contract, {
    kind: cb.status === 'open' ? 'chargeback.opened' : 'chargeback.closed',
    actorRole: 'system',
    milestoneId: cb.milestone_id,
    notify: ['client', 'contractor'],
    data,
  });
  await emailPlatformAdmin(ctx, cb.platform_id, email);
}

export async function listChargebacks(ctx: UseCaseCtx, cursor: string | null, limit: number): Promise<ChargebackRow[]> {
  const rows = await ctx.tx.query<ChargebackRow>(
    'SELECT * FROM chargebacks WHERE platform_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3',
    [ctx.principal.platformId, cursor, limit],
  );
  return rows.map(toNumbers);
}

export async function getChargeback(ctx: UseCaseCtx, id: string): Promise<ChargebackRow | undefined> {
  const [row] = await ctx.tx.query<ChargebackRow>('SELECT * FROM chargebacks WHERE platform_id = $1 AND id = $2', [ctx.principal.platformId, id]);
  return row && toNumbers(row);
}
