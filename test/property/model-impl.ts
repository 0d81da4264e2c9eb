import { expect } from 'vitest';
import { ensureDefaultPlatform } from '../../src/bootstrap.ts';
import { openDb, type Db, type Queryable, type Tx } from '../../src/db/client.ts';
import { migrate } from '../../src/db/migrate.ts';
import { findContractPage } from '../../src/db/repos/contracts.ts';
import type { MilestoneRow } from '../../src/db/repos/milestones.ts';
import { AppError } from '../../src/domain/errors.ts';
import { newId } from '../../src/domain/ids.ts';
import { checkLedger } from '../../src/ledger/check.ts';
import { SandboxProvider } from '../../src/payments/sandbox.ts';
import { acceptMilestone } from '../../src/usecases/accept-milestone.ts';
import { addMilestone } from '../../src/usecases/add-milestone.ts';
import { approveMilestone } from '../../src/usecases/approve-milestone.ts';
import { closeContract } from '../../src/usecases/close-contract.ts';
import type { Principal, UseCaseCtx } from '../../src/usecases/context.ts';
import { createContract } from '../../src/usecases/create-contract.ts';
import { createUser } from '../../src/usecases/create-user.ts';
import { declineMilestone } from '../../src/usecases/decline-milestone.ts';
import { openDispute, resolveDispute } from '../../src/usecases/disputes.ts';
import { fundMilestone } from '../../src/usecases/fund-milestone.ts';
import { payPayments } from '../../src/usecases/pay-payments.ts';
import { updatePlatform } from '../../src/usecases/platform-settings.ts';
import { refundMilestone } from '../../src/usecases/refund-milestone.ts';
import { rejectMilestone } from '../../src/usecases/reject-milestone.ts';
import { releaseMilestone } from '../../src/usecases/release-milestone.ts';
import { respondToContract } from '../../src/usecases/respond-to-contract.ts';
import { awaitOperations, performOperation } from '../../src/usecases/payments/perform-operation.ts';
import { submitMilestone } from '../../src/usecases/submit-milestone.ts';
import { aim, Ref, type Cmd, type Observed, type Outcome, type Sequence, type Setup, type Who } from './model-ref.ts';

/*
 * The implementation side of the model test: the SHIPPED use cases, called in process on
 * PGlite the way the HTTP runner calls them (one transaction per command, a UseCaseCtx with the
 * caller as principal). Nothing here decides an outcome: refusals are the use cases' AppErrors.
 */

const CARDS = { ok: 'pm_card_ok', declined: 'pm_card_declined', later: 'pm_card_fails_later' } as const;
const DUE = '2099-12-31';

/** The contract's ledger, as the model names accounts: net of this contract's postings per account. */
export async function contractLedger(q: Queryable, contractId: string) {
  const [row] = await q.query<{ payments: { milestone_id: string; kind: string; amount: number; fee: number; status: string }[] | null; nets: [string, number][] | null }>(
    `SELECT
       (SELECT json_agg(json_build_object('milestone_id', milestone_id, 'kind', kind, 'amount', amount, 'fee', fee, 'status', status)) FROM payments WHERE contract_id = $1) AS payments,
       (SELECT json_agg(json_build_array(address, net)) FROM (
          SELECT address, SUM(d)::bigint AS net FROM (
            SELECT destination AS address, amount AS d FROM postings WHERE contract_id = $1
            UNION ALL SELECT source, -amount FROM postings WHERE contract_id = $1) x
          GROUP BY address HAVING SUM(d) <> 0) y) AS nets`,
    [contractId],
  );
  return { payments: row?.payments ?? [], nets: row?.nets ?? [] };
}

type Ids = { contractId: string; clientId: string; contractorId: string; milestoneIds: string[] };

/** Maps what the database says to the model's names. */
export function toObserved(
  ids: Ids,
  contract: { status: string },
  overview: { total: number; inEscrow: number; paid: number; remaining: number },
  milestones: Pick<MilestoneRow, 'id' | 'status' | 'amount' | 'funded_amount' | 'released_amount' | 'refunded_amount' | 'proposed_by' | 'funding_pending' | 'revision_count'>[],
  ledger: Awaited<ReturnType<typeof contractLedger>>,
): Observed {
  const index = new Map(ids.milestoneIds.map((id, i) => [id, i]));
  const name = (address: string) => {
    if (address === 'world') return 'world';
    if (address === `clients:${ids.clientId}:funding`) return 'clientFunding';
    if (address === `contractors:${ids.contractorId}:balance`) return 'contractor';
    if (address === 'platform:fees:client') return 'feesClient';
    if (address === 'platform:fees:contractor') return 'feesContractor';
    const escrow = /^contracts:([^:]+):escrow:(.+)$/.exec(address);
    if (escrow && escrow[1] === ids.contractId && index.has(escrow[2]!)) return `escrow:${index.get(escrow[2]!)}`;
    return `unexpected:${address}`;
  };
  return {
    contract: contract.status as Observed['contract'],
    milestones: milestones.map((m) => ({
      // The model's clients are users: `approval_pending` (organisations' four eyes) would differ from every model state.
      status: m.status as Observed['milestones'][number]['status'],
      amount: Number(m.amount),
      funded: Number(m.funded_amount),
      released: Number(m.released_amount),
      refunded: Number(m.refunded_amount),
      proposedBy: m.status === 'proposed' ? m.proposed_by : null,
      pending: m.funding_pending,
      revisions: m.revision_count,
    })),
    payments: ledger.payments.map((p) => `m${index.get(p.milestone_id) ?? '?'} ${p.kind} ${p.amount} ${p.fee} ${p.status}`).sort(),
    overview: { total: overview.total, inEscrow: overview.inEscrow, paid: overview.paid, remaining: overview.remaining },
    balances: Object.fromEntries(ledger.nets.map(([a, n]) => [name(a), Number(n)])),
  };
}

/** One in-memory PGlite database shared by every batch of sequences. */
export class InProcessWorld {
  private constructor(readonly db: Db) {}
  readonly deps = { clock: { now: () => new Date() }, provider: new SandboxProvider() };

  static async open(): Promise<InProcessWorld> {
    const db = await openDb({ dataDir: 'memory://' });
    await migrate(db);
    await ensureDefaultPlatform(db, new Date());
    return new InProcessWorld(db);
  }

  close() {
    return this.db.close();
  }

  /** A fresh platform (its own ledger to check) with a client, who saved pm_card_ok, and a contractor. */
  async newPlatform(): Promise<Platform> {
    const now = new Date();
    const platformId = newId('platform');
    const [client, contractor] = await this.db.tx(async (tx) => {
      await tx.query("INSERT INTO platforms (id, name, created_at, updated_at) VALUES ($1, 'Model platform', $2, $2)", [platformId, now]);
      const c = await createUser(tx, platformId, { email: `client@${platformId}.test`, name: 'Client' }, now);
      const k = await createUser(tx, platformId, { email: `contractor@${platformId}.test`, name: 'Contractor' }, now);
      await tx.query("UPDATE users SET default_payment_method = 'pm_card_ok' WHERE id = $1", [c.id]);
      return [c.id, k.id];
    });
    return new Platform(this, platformId, client, contractor);
  }
}

export class Platform {
  constructor(readonly world: InProcessWorld, readonly platformId: string, readonly clientId: string, readonly contractorId: string) {}

  principal(who: Who): Principal {
    if (who === 'client' || who === 'contractor') {
      const userId = who === 'client' ? this.clientId : this.contractorId;
      return { platformId: this.platformId, userId, viaAdmin: false, key: `token:${userId}` };
    }
    return { platformId: this.platformId, userId: null, viaAdmin: true, key: who };
  }

  /** One command as the HTTP runner runs it: one transaction, the caller's principal. */
  async run<T>(who: Who, fn: (ctx: UseCaseCtx) => Promise<T>): Promise<T> {
    const operations: string[] = [];
    const out = await this.world.db.tx((tx: Tx) => {
      operations.length = 0;
      return fn({ tx, principal: this.principal(who), deps: this.world.deps, now: this.world.deps.clock.now(), operations });
    });
    // As the HTTP runner: the provider calls after commit, and a declined charge is the answer.
    const ops = await awaitOperations(this.world.db, this.world.deps, operations, true);
    const declined = ops.find((o) => o.operation === 'charge' && o.status === 'failed');
    if (declined) throw new AppError('payment_declined', 'the card was declined');
    return out;
  }

  /** The platform admin sets the fees, then the creator proposes the contract (which copies them). */
  async start(setup: Setup): Promise<Run> {
    const contract = await this.run('admin', async (ctx) => {
      await updatePlatform(ctx, { fees: setup.fees });
      return createContract(
        { ...ctx, principal: this.principal(setup.creator) },
        {
          title: 'Model contract',
          clientId: this.clientId,
          contractorId: this.contractorId,
          type: 'fixed',
          currency: setup.currency,
          policy: { preset: setup.preset, overrides: setup.policy },
          milestones: setup.initial.map((amount, n) => ({ title: `Initial ${n}`, amount, dueDate: DUE })),
        },
      );
    });
    const rows = await this.world.db.query<{ id: string }>('SELECT id FROM milestones WHERE contract_id = $1 ORDER BY position', [contract.id]);
    return new Run(this, { contractId: contract.id, clientId: this.clientId, contractorId: this.contractorId, milestoneIds: rows.map((r) => r.id) });
  }

  async expectLedgerClean(where: () => string) {
    const report = await checkLedger(this.world.db, this.platformId);
    if (!report.ok) throw new Error(`${where()}: ledger check: ${JSON.stringify(report.violations)}`);
  }
}

export class Run {
  private disputes = new Map<number, string>();
  /** The database's state after the last step (release amounts are fractions of what it holds). */
  last: Observed | null = null;
  constructor(readonly platform: Platform, readonly ids: Ids) {}

  async apply(c: Cmd): Promise<Outcome> {
    const p = this.platform;
    const mid = 'i' in c ? this.ids.milestoneIds[c.i] : undefined;
    if ('i' in c && !mid) return { ok: false, code: 'no_milestone' };
    const db = p.world.db;
    try {
      switch (c.k) {
        case 'activate':
        case 'withdraw':
          await p.run(c.who, (ctx) => respondToContract(ctx, this.ids.contractId, c.k as 'activate' | 'withdraw'));
          break;
        case 'cdecline':
          await p.run(c.who, (ctx) => respondToContract(ctx, this.ids.contractId, 'decline'));
          break;
        case 'add': {
          const r = await p.run(c.who, (ctx) => addMilestone(ctx, this.ids.contractId, { title: 'Work', amount: c.amount, dueDate: DUE }));
          this.ids.milestoneIds.push(r.milestone.id);
          break;
        }
        case 'accept':
          await p.run(c.who, (ctx) => acceptMilestone(ctx, mid!));
          break;
        case 'decline':
          await p.run(c.who, (ctx) => declineMilestone(ctx, mid!));
          break;
        case 'fund':
          await p.run(c.who, (ctx) => fundMilestone(ctx, mid!, { paymentMethod: CARDS[c.card] }));
          break;
        case 'settle': {
          // What the worker does with a charge the provider accepted to settle later.
          const [op] = await db.query<{ id: string }>("SELECT id FROM provider_operations WHERE milestone_id = $1 AND status = 'processing'", [mid]);
          if (!op) return { ok: false, code: 'no_pending' };
          await performOperation(db, p.world.deps, op.id);
          break;
        }
        case 'submit':
          await p.run(c.who, (ctx) => submitMilestone(ctx, mid!, { note: 'done' }));
          break;
        case 'approve':
          await p.run(c.who, (ctx) => approveMilestone(ctx, mid!));
          break;
        case 'reject':
          await p.run(c.who, (ctx) => rejectMilestone(ctx, mid!, { reason: 'needs work' }));
          break;
        case 'release': {
          const held = this.held(c.i);
          await p.run(c.who, (ctx) => releaseMilestone(ctx, mid!, { amount: Math.floor(held * c.frac) + c.delta }));
          break;
        }
        case 'refund':
          await p.run(c.who, (ctx) => refundMilestone(ctx, mid!));
          break;
        case 'dispute': {
          const r = await p.run(c.who, (ctx) => openDispute(ctx, mid!, { reason: 'not as agreed' }));
          this.disputes.set(c.i, r.dispute.id);
          break;
        }
        case 'resolve': {
          const id = this.disputes.get(c.i);
          if (!id) return { ok: false, code: 'no_dispute' };
          const held = this.held(c.i);
          const release = Math.floor(held * c.frac);
          await p.run(c.who, (ctx) => resolveDispute(ctx, id, { releaseAmount: release, refundAmount: held - release + c.delta }));
          break;
        }
        case 'pay': {
          const [payment] = await db.query<{ id: string }>("SELECT id FROM payments WHERE milestone_id = $1 ORDER BY (status = 'draft') DESC, id LIMIT 1", [mid]);
          if (!payment) return { ok: false, code: 'no_payment' };
          await p.run(c.who, (ctx) => payPayments(ctx, [payment.id], { paymentMethod: CARDS[c.card] }));
          break;
        }
        case 'close': {
          const body = this.closeBody(c);
          const r = await p.run(c.who, (ctx) => closeContract(ctx, this.ids.contractId, body));
          expect(r.kind, 'the model never asks for a refund at close as the client').toBe('closed');
          break;
        }
      }
    } catch (e) {
      if (e instanceof AppError) return { ok: false, code: e.code };
      throw e;
    }
    return { ok: true };
  }

  private held(i: number) {
    const m = this.last!.milestones[i]!;
    return m.funded - m.released - m.refunded;
  }

  /** As Ref.closeBody, from the database's figures. */
  private closeBody(c: Extract<Cmd, { k: 'close' }>) {
    const total = this.last!.milestones.reduce((a, m) => a + m.funded - m.released - m.refunded, 0);
    if (c.who === 'client') return { release: total };
    if (!c.split) return c.who === 'admin' ? { release: total } : {};
    return { release: Math.floor(total * c.frac) };
  }

  /** Changes with every write to the contract, its milestones or its ledger. */
  async fingerprint(): Promise<string> {
    const [row] = await this.platform.world.db.query<{ f: string }>(
      `SELECT c.version || ':' || c.ledger_seq || ':' || (SELECT COALESCE(SUM(version), 0) || ':' || COUNT(*) FROM milestones WHERE contract_id = c.id)
         || ':' || (SELECT COUNT(*) || ':' || COALESCE(SUM(version), 0) FROM payments WHERE contract_id = c.id) AS f
       FROM contracts c WHERE c.id = $1`,
      [this.ids.contractId],
    );
    return row!.f;
  }

  async observe(): Promise<Observed> {
    const db = this.platform.world.db;
    const page = (await findContractPage(db, this.platform.platformId, this.ids.contractId))!;
    this.last = toObserved(this.ids, page.contract, page.overview, page.milestones, await contractLedger(db, this.ids.contractId));
    return this.last;
  }
}

export type Stats = { refusals: Record<string, number>; sequences: number; steps: number; ok: number; refused: number; funded: number; released: number; refunded: number; paidDrafts: number; closed: number; resolved: number; partial: number };
export const newStats = (): Stats => ({ refusals: {}, sequences: 0, steps: 0, ok: 0, refused: 0, funded: 0, released: 0, refunded: 0, paidDrafts: 0, closed: 0, resolved: 0, partial: 0 });

/**
 * Runs sequences side by side on one fresh platform: step n of every sequence, each compared
 * with its model right after it ran, then the platform's ledger check before any step n + 1.
 * Contracts never touch each other, so a violation still points at the step that made it.
 */
export async function runBatch(world: InProcessWorld, seqs: Sequence[], stats: Stats) {
  const platform = await world.newPlatform();
  const live: { seq: Sequence; ref: Ref; run: Run; log: string[] }[] = [];
  for (const seq of seqs) {
    const ref = new Ref(seq.setup);
    const run = await platform.start(seq.setup);
    const log = [`setup ${JSON.stringify(seq.setup)}`];
    expect(await run.observe(), log.join('\n')).toEqual(ref.observe());
    live.push({ seq, ref, run, log });
  }
  await platform.expectLedgerClean(() => 'after creating the contracts');
  const longest = Math.max(0, ...seqs.map((s) => s.cmds.length));
  for (let n = 0; n < longest; n++) {
    const stepped: string[] = [];
    for (const x of live) {
      const raw = x.seq.cmds[n];
      if (!raw) continue;
      const c = aim(raw, x.ref.observe().milestones);
      if (!c) continue;
      x.log.push(`step ${n} ${JSON.stringify(c)}`);
      const want = x.ref.apply(c);
      const before = want.ok ? '' : await x.run.fingerprint();
      const got = await x.run.apply(c);
      expect(got, `${x.log.join('\n')}\n→ outcome`).toEqual(want);
      // A refusal leaves the model as it was: the database must be too (versions, ledger
      // sequence, row counts), which is cheaper to read than the whole contract again.
      if (got.ok) expect(await x.run.observe(), `${x.log.join('\n')}\n→ state`).toEqual(x.ref.observe());
      else expect(await x.run.fingerprint(), `${x.log.join('\n')}\n→ refused but changed something`).toBe(before);
      stats.steps++;
      if (got.ok) stats.ok++;
      else {
        stats.refused++;
        stats.refusals[`${c.k} ${got.code}`] = (stats.refusals[`${c.k} ${got.code}`] ?? 0) + 1;
      }
      if (got.ok && c.k === 'release') stats.partial++;
      if (got.ok && c.k === 'resolve') stats.resolved++;
      if (got.ok && c.k === 'pay') stats.paidDrafts++;
      stepped.push(x.log.join('\n'));
    }
    if (stepped.length) await platform.expectLedgerClean(() => `after step ${n} of:\n${stepped.join('\n---\n')}`);
  }
  for (const x of live) {
    const o = x.ref.observe();
    stats.sequences++;
    stats.funded += o.milestones.filter((m) => m.funded > 0).length;
    stats.released += o.milestones.filter((m) => m.released > 0).length;
    stats.refunded += o.milestones.filter((m) => m.refunded > 0).length;
    if (o.contract === 'closed') stats.closed++;
  }
}
