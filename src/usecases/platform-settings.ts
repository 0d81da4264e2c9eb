import type { Queryable } from '../db/client.ts';
import { AppError, forbidden, notFound } from '../domain/errors.ts';
import { PlatformSettingsSchema, readSettings, type PlatformSettings } from '../domain/platform-settings.ts';
import { isPlatformAdmin, type UseCaseCtx } from './context.ts';
import { assertVersion } from './run-milestone-command.ts';

type PlatformRow = { id: string; name: string; timezone: string; settings: unknown; version: number; updated_at: Date };

export type PlatformView = { id: string; name: string; settings: PlatformSettings; version: number; updatedAt: Date };

const view = (r: PlatformRow): PlatformView => ({ id: r.id, name: r.name, settings: readSettings(r.settings, r.timezone), version: r.version, updatedAt: r.updated_at });

/** loadPlatform as a statement to send with others (Tx.batch), and its answer read back. */
export const platformStatement = (platformId: string) => ['SELECT id, name, timezone, settings, version, updated_at FROM platforms WHERE id = $1', [platformId]] as const;
export function platformFromRows(rows: readonly unknown[]): PlatformView {
  if (!rows[0]) throw notFound('platform');
  return view(rows[0] as PlatformRow);
}

/** The platform's settings, with defaults for anything never set. */
export async function loadPlatform(q: Queryable, platformId: string, lock = false): Promise<PlatformView> {
  const [row] = await q.query<PlatformRow>(`SELECT id, name, timezone, settings, version, updated_at FROM platforms WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [platformId]);
  if (!row) throw notFound('platform');
  return view(row);
}

export type PlatformPatch = { name?: string; fees?: Partial<PlatformSettings['fees']>; defaultPreset?: PlatformSettings['defaultPreset']; timeZone?: string; minimumAmounts?: PlatformSettings['minimumAmounts']; adminEmail?: string | null };

/**
 * The platform admin changes the platform's settings. New values apply to contracts proposed
 * from now on: a contract keeps the terms both parties accepted.
 */
export async function updatePlatform(ctx: UseCaseCtx, patch: PlatformPatch, expectedVersion?: number): Promise<PlatformView> {
  if (!isPlatformAdmin(ctx.principal)) throw forbidden('only the platform admin changes platform settings');
  const current = await loadPlatform(ctx.tx, ctx.principal.platformId, true);
  assertVersion(current, expectedVersion);
  const merged = {
    fees: { ...current.settings.fees, ...patch.fees },
    defaultPreset: patch.defaultPreset ?? current.settings.defaultPreset,
    timeZone: patch.timeZone ?? current.settings.timeZone,
    minimumAmounts: patch.minimumAmounts ?? current.settings.minimumAmounts,
    adminEmail: patch.adminEmail === undefined ? current.settings.adminEmail : patch.adminEmail,
  };
  const parsed = PlatformSettingsSchema.safeParse(merged);
  if (!parsed.success) {
    throw new AppError('validation_failed', 'the platform settings are not valid', {}, parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })));
  }
  const { timeZone, ...stored } = parsed.data;
  const [row] = await ctx.tx.query<PlatformRow>(
    `UPDATE platforms SET name = COALESCE($2, name), timezone = $3, settings = $4, version = version + 1, updated_at = $5 WHERE id = $1
     RETURNING id, name, timezone, settings, version, updated_at`,
    [current.id, patch.name ?? null, timeZone, JSON.stringify(stored), ctx.now],
  );
  return view(row!);
}
