import { z } from 'zod';
import { AppError } from './errors.ts';

/**
 * What an operator attaches to users, contracts and milestones to find them by its own ids:
 * `externalId` (unique per platform and kind) and `metadata`, a string map with Stripe's
 * limits — at most 50 keys of up to 40 characters, values of up to 500 characters. Tranche
 * never interprets either. Only the platform admin token writes them.
 */
export const ExternalId = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1–255 visible ASCII characters')
  .describe('your own id for this record; unique per platform')
  .meta({ example: 'order-8841' });

export const MetadataKey = z.string().regex(/^[A-Za-z0-9_.\-]{1,40}$/, 'keys are 1–40 letters, digits, _ . or -');
export const Metadata = z
  .record(MetadataKey, z.string().max(500, 'values are at most 500 characters'))
  .refine((m) => Object.keys(m).length <= 50, 'at most 50 keys')
  .describe('your own key–value strings (≤ 50 keys; keys ≤ 40, values ≤ 500 characters)')
  .meta({ example: { orderId: '8841', team: 'mobile' } });
export type Metadata = z.infer<typeof Metadata>;

/** A metadata change: a key set to null is removed, others are set; the result is checked again. */
export const MetadataPatch = z
  .record(MetadataKey, z.string().max(500, 'values are at most 500 characters').nullable())
  .describe('keys to set; a key set to null is removed')
  .meta({ example: { team: 'web', obsolete: null } });

export function applyMetadataPatch(current: Metadata, patch: Record<string, string | null>): Metadata {
  const next: Metadata = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete next[k];
    else next[k] = v;
  }
  if (Object.keys(next).length > 50) throw new AppError('validation_failed', 'metadata holds at most 50 keys', {}, [{ field: 'metadata', message: 'at most 50 keys' }]);
  return next;
}

/** `key:value` as given in `?metadata=` list filters. */
export const MetadataFilter = z
  .string()
  .regex(/^[A-Za-z0-9_.\-]{1,40}:.{0,500}$/s, 'must be key:value')
  .describe('only records whose metadata has this key:value')
  .meta({ example: 'orderId:8841' });

export const splitMetadataFilter = (f: string): [string, string] => {
  const i = f.indexOf(':');
  return [f.slice(0, i), f.slice(i + 1)];
};
