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

/**
 * What the platform's admin decides for every contract of the platform, never a party: the
 * platform fees (copied into a contract's policy when it is proposed, so both parties see them
 * before accepting), the preset used when a proposal names none, the time zone of weekly
 * schedules, and the smallest milestone amount per currency.
 */
export const PlatformSettingsSchema = z
  .object({
    fees: z.object({ clientBps: Bps, contractorBps: Bps }).strict(),
    defaultPreset: z.enum(PRESET_NAMES),
    timeZone: z.string().min(1).max(64).refine(isTimeZone, 'is not an IANA time zone'),
    minimumAmounts: z.record(z.string().regex(/^[A-Z]{3}$/), z.number().int().min(1).max(MAX_AMOUNT)),
  })
  .strict();
export type PlatformSettings = z.infer<typeof PlatformSettingsSchema>;

export const DEFAULT_PLATFORM_SETTINGS: PlatformSettings = {
  fees: { clientBps: 0, contractorBps: 0 },
  defaultPreset: DEFAULT_PRESET as PresetName,
  timeZone: 'UTC',
  minimumAmounts: {},
};

/** Stored settings over the defaults (rows from before a setting existed read as its default). */
export function readSettings(stored: unknown, timeZone: string): PlatformSettings {
  const s = (stored ?? {}) as Partial<PlatformSettings>;
  return {
    fees: { ...DEFAULT_PLATFORM_SETTINGS.fees, ...s.fees },
    defaultPreset: s.defaultPreset ?? DEFAULT_PLATFORM_SETTINGS.defaultPreset,
    timeZone,
    minimumAmounts: { ...s.minimumAmounts },
  };
}
