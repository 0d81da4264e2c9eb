import type { Db, Queryable } from '../../db/client.ts';
import { AppError } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import { canReport, type ProviderObject } from '../../payments/reporting.ts';
import type { Deps, UseCaseCtx } from '../context.ts';
import { recordPlatformEvent } from '../record.ts';

/**
 * Reconciliation (issue 14, item 4): what the provider says happened in a period against the
 * provider operations and the ledger. Every difference is reported (the run's report, an email
 * to the platform's admin and a `reconciliation.differences_found` webhook, written with the
 * report in one transaction); nothing is "fixed": money moves only through the commands.
 *
 * Two phases, as provider operations: a run is requested (a row, once per platform, provider and
 * period: the daily run and an admin's run of the same period are one report), then made after
 * commit — the provider's listing read outside any transaction, the comparison and the report
 * written in one. A run a crash left `pending` is made by the worker's sweep.
 */
export const DIFFERENCE_KINDS = [
  /** The provider has a charge, refund, transfer or payout no operation of ours asked for (an orphan). */
  'provider_object_without_operation',
  /** An operation we booked as done (or processing) that the provider does not list. */
  'operation_without_provider_object',
  /** The provider did it; our operation is still waiting for its answer. */
  'operation_unanswered',
  'amount_mismatch',
  'currency_mismatch',
  /** The provider's outcome differs from ours (e.g. it succeeded where we booked a failure). */
  'status_mismatch',
  /** A succeeded operation without exactly one journal entry booking it. */
  'ledger_entry_count',
  /** The journal entry moves another amount to or from the world than the operation. */
  'ledger_amount_mismatch',
] as const;
export type DifferenceKind = (typeof DIFFERENCE_KINDS)[number];

export type Difference = {
  kind: DifferenceKind;
  objectKind: string | null;
  providerRef: string | null;
  operationId: string | null;
  detail: Record<string, unknown>;
};

export type RunRow = {
  id: string;
  platform_id: string;
  provider: string;
  period_start: Date;
  period_end: Date;
  trigger: 'schedule' | 'admin';
  status: 'pending' | 'completed';
  provider_objects: number | null;
  operations: number | null;
  differences: number | null;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  completed_at: Date | null;
};

export type DifferenceRow = { run_id: string; idx: number; kind: DifferenceKind; object_kind: string | null; provider_ref: string | null; operation_id: string | null; detail: Record<string, unknown> };

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** An operation and its provider object may sit either side of a period's edge (a retry the next morning). */
const MATCH_MARGIN_MS = DAY;
/** A day is reconciled once it is over and its late answers are in. */
const DAILY_DELAY_MS = HOUR;
/** Days the schedule catches up on after a stop (never before the platform existed). */
const CATCH_UP_DAYS = 7;
/** The longest period one run may cover. */
export const MAX_PERIOD_DAYS = 31;

const backoffMs = (attempts: number) => Math.min(HOUR, 1000 * 2 ** attempts);

/** Requests a run of one period (an admin's); the same period answers the report already requested. */
export async function requestReconciliation(ctx: UseCaseCtx, period: { from: Date; to: Date }): Promise<{ run: RunRow; created: boolean }> {
  if (!canReport(ctx.deps.provider)) throw new AppError('invalid_state', `the ${ctx.deps.provider.name} provider cannot list what it did`, { state: 'unsupported' });
  const field = (f: string, message: string) => new AppError('validation_failed', `${f}: ${message}`, {}, [{ field: f, message }]);
  if (period.to <= period.from) throw field('to', 'must be after from');
  if (period.to.getTime() - period.from.getTime() > MAX_PERIOD_DAYS * DAY) throw field('to', `a period covers at most ${MAX_PERIOD_DAYS} days`);
  if (period.to > ctx.now) throw field('to', 'must not be in the future');
  const [row] = await ctx.tx.query<RunRow>(
    `INSERT INTO reconciliation_runs (id, platform_id, provider, period_start, period_end, trigger, status, next_attempt_at, created_at)
     VALUES ($1,$2,$3,$4,$5,'admin','pending',$6,$6) ON CONFLICT (platform_id, provider, period_start, period_end) DO NOTHING RETURNING *`,
    [newId('reconciliation'), ctx.principal.platformId, ctx.deps.provider.name, period.from, period.to, ctx.now],
  );
  if (row) return { run: row, created: true };
  const [existing] = await ctx.tx.query<RunRow>(
    'SELECT * FROM reconciliation_runs WHERE platform_id = $1 AND provider = $2 AND period_start = $3 AND period_end = $4',
    [ctx.principal.platformId, ctx.deps.provider.name, period.from, period.to],
  );
  return { run: existing!, created: false };
}

/**
 * The schedule: every platform's last days (UTC), each once it is over, requested once (the
 * period is unique, so any number of workers, ticks or restarts request each day once).
 */
export async function requestDueReconciliations(db: Queryable, deps: Deps): Promise<void> {
  if (!canReport(deps.provider)) return;
  const now = deps.clock.now();
  const lastDay = Math.floor((now.getTime() - DAILY_DELAY_MS) / DAY) * DAY - DAY;
  // Each worker tick asks; the database is asked once a day per process (and again after a restart).
  if (requested.get(db) === lastDay) return;
  const platforms = await db.query<{ id: string; created_at: Date }>('SELECT id, created_at FROM platforms');
  const rows: { id: string; platformId: string; day: Date }[] = [];
  for (const p of platforms) {
    for (let i = CATCH_UP_DAYS - 1; i >= 0; i--) {
      const day = new Date(lastDay - i * DAY);
      // Never for a day that was over before the platform existed.
      if (day.getTime() + DAY > new Date(p.created_at).getTime()) rows.push({ id: newId('reconciliation'), platformId: p.id, day });
    }
  }
  await db.query(
    `INSERT INTO reconciliation_runs (id, platform_id, provider, period_start, period_end, trigger, status, next_attempt_at, created_at)
     SELECT r.id, r.platform_id, $1, r.day, r.day + interval '1 day', 'schedule', 'pending', $2, $2
     FROM unnest($3::text[], $4::text[], $5::timestamptz[]) AS r(id, platform_id, day)
     ON CONFLICT DO NOTHING`,
    [deps.provider.name, now, rows.map((r) => r.id), rows.map((r) => r.platformId), rows.map((r) => r.day)],
  );
  requested.set(db, lastDay);
}
const requested = new WeakMap<Queryable, number>();

/** The worker's sweep: runs requested and not made yet (just requested, or left by a crash or a provider that did not answer). */
export async function performDueReconciliations(db: Db, deps: Deps): Promise<number> {
  if (!canReport(deps.provider)) return 0;
  await requestDueReconciliations(db, deps);
  const due = await db.query<{ id: string }>(
    "SELECT id FROM reconciliation_runs WHERE status = 'pending' AND provider = $1 AND next_attempt_at <= $2 ORDER BY period_start, id LIMIT 20",
    [deps.provider.name, deps.clock.now()],
  );
  let done = 0;
  for (const { id } of due) {
    try {
      await performReconciliation(db, deps, id);
      done++;
    } catch {
      /* recorded on the run (last_error, next attempt); retried later */
    }
  }
  return done;
}

/** Makes one requested run: the provider's listing outside any transaction, then the report in one. */
export async function performReconciliation(db: Db, deps: Deps, runId: string): Promise<RunRow | undefined> {
  const [run] = await db.query<RunRow>('SELECT * FROM reconciliation_runs WHERE id = $1', [runId]);
  if (!run || run.status !== 'pending') return run;
  const provider = deps.provider;
  if (!canReport(provider)) return run;
  const from = new Date(run.period_start);
  const to = new Date(run.period_end);
  let objects: ProviderObject[];
  try {
    objects = await provider.listObjects({ from: new Date(from.getTime() - MATCH_MARGIN_MS), to: new Date(to.getTime() + MATCH_MARGIN_MS) });
  } catch (e) {
    const now = deps.clock.now();
    await db.query("UPDATE reconciliation_runs SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE id = $1 AND status = 'pending'", [
      runId, String((e as Error)?.message ?? e).slice(0, 1000), new Date(now.getTime() + backoffMs(run.attempts + 1)),
    ]);
    throw e;
  }
  return db.tx(async (tx) => {
    const [locked] = await tx.query<RunRow>('SELECT * FROM reconciliation_runs WHERE id = $1 FOR UPDATE', [runId]);
    if (!locked || locked.status !== 'pending') return locked;
    const now = deps.clock.now();
    const { differences, operations, listed } = await compare(tx, run.platform_id, { from, to }, objects);
    if (differences.length > 0) {
      await tx.query(
        `INSERT INTO reconciliation_differences (run_id, idx, kind, object_kind, provider_ref, operation_id, detail)
         SELECT $1, x.idx, x.kind, x.object_kind, x.provider_ref, x.operation_id, x.detail::jsonb
         FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS x(idx, kind, object_kind, provider_ref, operation_id, detail)`,
        [
          runId, differences.map((_, i) => i), differences.map((d) => d.kind), differences.map((d) => d.objectKind), differences.map((d) => d.providerRef),
          differences.map((d) => d.operationId), differences.map((d) => JSON.stringify(d.detail)),
        ],
      );
    }
    const [done] = await tx.query<RunRow>(
      `UPDATE reconciliation_runs SET status = 'completed', provider_objects = $2, operations = $3, differences = $4, attempts = attempts + 1,
         last_error = NULL, completed_at = $5 WHERE id = $1 RETURNING *`,
      [runId, listed, operations, differences.length, now],
    );
    if (differences.length > 0) await report({ tx, now }, done!, differences);
    return done;
  });
}

async function report(ctx: Pick<UseCaseCtx, 'tx' | 'now'>, run: RunRow, differences: Difference[]) {
  const counts: Record<string, number> = {};
  for (const d of differences) counts[d.kind] = (counts[d.kind] ?? 0) + 1;
  const period = `${new Date(run.period_start).toISOString()} – ${new Date(run.period_end).toISOString()}`;
  await recordPlatformEvent(ctx, run.platform_id, {
    kind: 'reconciliation.differences_found',
    data: { reconciliationId: run.id, provider: run.provider, periodStart: new Date(run.period_start).toISOString(), periodEnd: new Date(run.period_end).toISOString(), differences: differences.length, kinds: counts },
    email: {
      subject: `Reconciliation: ${differences.length} difference${differences.length === 1 ? '' : 's'} with ${run.provider}`,
      text: [
        `Reconciliation ${run.id} compared what ${run.provider} did in ${period} with the provider operations and the ledger.`,
        `It found ${differences.length}: ${Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ')}.`,
        'Nothing was changed. The report: GET /v1/admin/reconciliations/' + run.id,
      ].join('\n'),
    },
  });
}

type OpRow = {
  id: string;
  platform_id: string;
  operation: string;
  amount: number;
  currency: string;
  idempotency_key: string;
  status: 'pending' | 'processing' | 'succeeded' | 'failed';
  provider_ref: string | null;
  entry_reference: string | null;
  created_at: Date;
};

const EXPECTED: Record<OpRow['status'], ProviderObject['status'] | null> = { pending: null, processing: 'pending', succeeded: 'succeeded', failed: 'failed' };

/** The comparison, read in the report's transaction. */
async function compare(tx: Queryable, platformId: string, period: { from: Date; to: Date }, objects: ProviderObject[]) {
  const inPeriod = (d: Date) => d >= period.from && d < period.to;
  const refs = objects.flatMap((o) => [o.id, ...o.aliases]);
  const keys = objects.map((o) => o.idempotencyKey).filter((k): k is string => Boolean(k));
  // This platform's operations of the period, and any operation (of any platform sharing the
  // provider account) a listed object names.
  const ops = (
    await tx.query<OpRow>(
      // Three index lookups: by period, by the provider's reference, by (platform, key).
      `SELECT id, platform_id, operation, amount, currency, idempotency_key, status, provider_ref, entry_reference, created_at FROM provider_operations
       WHERE platform_id = $1 AND created_at >= $2 AND created_at < $3
       UNION SELECT id, platform_id, operation, amount, currency, idempotency_key, status, provider_ref, entry_reference, created_at FROM provider_operations
       WHERE provider_ref = ANY($4)
       UNION SELECT o.id, o.platform_id, o.operation, o.amount, o.currency, o.idempotency_key, o.status, o.provider_ref, o.entry_reference, o.created_at
       FROM platforms p CROSS JOIN unnest($5::text[]) AS k(key) JOIN provider_operations o ON o.platform_id = p.id AND o.idempotency_key = k.key`,
      [platformId, period.from, period.to, refs, keys],
    )
  ).map((o) => ({ ...o, amount: Number(o.amount), created_at: new Date(o.created_at) }));
  const byRef = new Map(ops.filter((o) => o.provider_ref).map((o) => [o.provider_ref!, o]));
  const byKey = new Map(ops.map((o) => [`${o.operation} ${o.idempotency_key}`, o]));
  // Movements booked before provider operations existed: their journal entry names the provider's reference.
  const legacy = new Set(
    (
      await tx.query<{ reference: string }>('SELECT reference FROM journal_entries WHERE platform_id = $1 AND reference = ANY($2)', [
        platformId, objects.flatMap((o) => [o.id, ...o.aliases].flatMap((r) => [`charge:${r}`, `refund_paid:${r}`, `payout_paid:${r}`])),
      ])
    ).map((r) => r.reference.slice(r.reference.indexOf(':') + 1)),
  );

  const differences: Difference[] = [];
  const matched = new Set<string>();
  let listed = 0;
  for (const o of objects) {
    const op = [o.id, ...o.aliases].map((r) => byRef.get(r)).find(Boolean) ?? (o.idempotencyKey ? byKey.get(`${o.kind} ${o.idempotencyKey}`) : undefined);
    // A pair belongs to the run of the day its operation was requested (the object may be a
    // retry's, the next morning); an object without an operation to the run of its own day.
    if (op && (op.platform_id !== platformId || !inPeriod(op.created_at))) continue;
    if (inPeriod(o.created)) listed++;
    const about = { kind: o.kind, id: o.id, amount: o.amount, currency: o.currency, status: o.status, created: o.created.toISOString() };
    if (!op) {
      if (inPeriod(o.created) && !o.foreign && ![o.id, ...o.aliases].some((r) => legacy.has(r))) {
        differences.push({ kind: 'provider_object_without_operation', objectKind: o.kind, providerRef: o.id, operationId: null, detail: { provider: about } });
      }
      continue;
    }
    matched.add(op.id);
    const ours = { operation: op.operation, amount: op.amount, currency: op.currency, status: op.status, idempotencyKey: op.idempotency_key };
    const diff = (kind: DifferenceKind) => differences.push({ kind, objectKind: o.kind, providerRef: o.id, operationId: op.id, detail: { provider: about, operation: ours } });
    if (op.amount !== o.amount) diff('amount_mismatch');
    if (op.currency.toUpperCase() !== o.currency.toUpperCase()) diff('currency_mismatch');
    if (op.status === 'pending') diff('operation_unanswered');
    else if (EXPECTED[op.status] !== o.status) diff('status_mismatch');
  }

  const mine = ops.filter((o) => o.platform_id === platformId && o.created_at >= period.from && o.created_at < period.to);
  for (const op of mine) {
    // A call declined before the provider made anything, or not made yet, has no object to find.
    if (matched.has(op.id) || op.status === 'failed' || op.status === 'pending') continue;
    differences.push({
      kind: 'operation_without_provider_object', objectKind: op.operation, providerRef: op.provider_ref, operationId: op.id,
      detail: { operation: { operation: op.operation, amount: op.amount, currency: op.currency, status: op.status, idempotencyKey: op.idempotency_key } },
    });
  }

  // The ledger: every succeeded operation of the period has exactly one journal entry, moving
  // the operation's amount to or from the world.
  const succeeded = mine.filter((o) => o.status === 'succeeded');
  const entries = await tx.query<{ operation_id: string; entries: number; world: number | null }>(
    `SELECT o.id AS operation_id, COUNT(e.id)::int AS entries,
       MAX((SELECT ABS(COALESCE(SUM(p.amount) FILTER (WHERE p.source = 'world'), 0) - COALESCE(SUM(p.amount) FILTER (WHERE p.destination = 'world'), 0))
            FROM postings p WHERE p.entry_id = e.id))::bigint AS world
     FROM unnest($2::text[], $3::text[]) AS o(id, entry_reference)
     LEFT JOIN journal_entries e ON e.platform_id = $1 AND e.reference = o.entry_reference
     GROUP BY o.id`,
    [platformId, succeeded.map((o) => o.id), succeeded.map((o) => o.entry_reference)],
  );
  const byId = new Map(succeeded.map((o) => [o.id, o]));
  for (const e of entries) {
    const op = byId.get(e.operation_id)!;
    const ours = { operation: op.operation, amount: op.amount, currency: op.currency, status: op.status, entryReference: op.entry_reference };
    if (e.entries !== 1) {
      differences.push({ kind: 'ledger_entry_count', objectKind: op.operation, providerRef: op.provider_ref, operationId: op.id, detail: { operation: ours, entries: e.entries } });
    } else if (e.world !== null && Number(e.world) !== 0 && Number(e.world) !== op.amount) {
      differences.push({ kind: 'ledger_amount_mismatch', objectKind: op.operation, providerRef: op.provider_ref, operationId: op.id, detail: { operation: ours, ledgerAmount: Number(e.world) } });
    }
  }
  return { differences, operations: mine.length, listed };
}

export async function listRuns(ctx: UseCaseCtx, cursor: string | null, limit: number): Promise<RunRow[]> {
  return ctx.tx.query<RunRow>(
    'SELECT * FROM reconciliation_runs WHERE platform_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3',
    [ctx.principal.platformId, cursor, limit],
  );
}

export async function findRun(q: Queryable, platformId: string, id: string): Promise<RunRow | undefined> {
  const [row] = await q.query<RunRow>('SELECT * FROM reconciliation_runs WHERE platform_id = $1 AND id = $2', [platformId, id]);
  return row;
}

export async function differencesOf(q: Queryable, runId: string): Promise<DifferenceRow[]> {
  return q.query<DifferenceRow>('SELECT * FROM reconciliation_differences WHERE run_id = $1 ORDER BY idx', [runId]);
}
