import { z } from 'zod';
import { MAX_AMOUNT } from './money.ts';
import { DEFAULT_PRESET, PRESET_NAMES, type PresetName } from './policy.ts';

/** An IANA time zone the runtime knows (`Europe/Berlin`, `UTC`). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const Bps = z.number().int().min(0).max(5000);
/** The platform operator's address for notices about the platform (not about a contract). */
export const AdminEmail = z.email('must be an email address').max(254, 'must be at most 254 characters');

/**
 * What the platform's admin decides for every contract of the platform, never a party: the
 * platform fees (copied into a contract's policy when it is proposed, so both parties see them
 * before accepting), the preset used when a proposal names none, the time zone of weekly
 * schedules, the smallest milestone amount per currency, and where the platform's operator is
 * emailed about the platform itself (a webhook endpoint disabled after three days of failures).
 */
export const PlatformSettingsSchema = z
  .object({
    fees: z.object({ clientBps: Bps, contractorBps: Bps }).strict(),
    defaultPreset: z.enum(PRESET_NAMES),
    timeZone: z.string().min(1).max(64).refine(isTimeZone, 'is not an IANA time zone'),
    minimumAmounts: z.record(z.string().regex(/^[A-Z]{3}$/), z.number().int().min(1).max(MAX_AMOUNT)),
    adminEmail: AdminEmail.nullable(),
  })
  .strict();
export type PlatformSettings = z.infer<typeof PlatformSettingsSchema>;

export const DEFAULT_PLATFORM_SETTINGS: PlatformSettings = {
  fees: { clientBps: 0, contractorBps: 0 },
  defaultPreset: DEFAULT_PRESET as PresetName,
  timeZone: 'UTC',
  minimumAmounts: {},
  adminEmail: null,
};

/** Stored settings over the defaults (rows from before a setting existed read as its default). */
export function readSettings(stored: unknown, timeZone: string): PlatformSettings {
  const s = (stored ?? {}) as Partial<PlatformSettings>;
  return {
    fees: { ...DEFAULT_PLATFORM_SETTINGS.fees, ...s.fees },
    defaultPreset: s.defaultPreset ?? DEFAULT_PLATFORM_SETTINGS.defaultPreset,
    timeZone,
    minimumAmounts: { ...s.minimumAmounts },
    adminEmail: s.adminEmail ?? null,
  };
}
