import { z } from 'zod';
import { AppError } from './errors.ts';

/** The workflow rules of a contract (PRODUCT.md section 3). Fixed when the contract is created. */
export const PolicySchema = z
  .object({
    preset: z.string().describe('The preset the policy started from'),
    milestoneCreators: z.enum(['client', 'contractor', 'both']).describe('Who may add milestones'),
    changesNeedAcceptance: z
      .object({ client: z.boolean().describe('The client’s changes need the contractor’s acceptance'), contractor: z.boolean().describe('The contractor’s changes need the client’s acceptance') })
      .strict()
      .describe('Whose changes to milestones the other party must accept (as a change request)'),
    escrow: z.enum(['required', 'none']).describe('`required`: work starts on funded escrow; `none`: approval creates a draft payment the client pays'),
    fundingTrigger: z.enum(['client_funds', 'on_acceptance']).describe('Whether the client funds each milestone, or acceptance funds it from the saved card'),
    maxFundedMilestones: z.number().int().min(1).max(1000).nullable().describe('At most this many milestones funded at once; null is no limit'),
    minFundingAmount: z.record(z.string().regex(/^[A-Z]{3}$/), z.number().int().min(0)).describe('Smallest escrow deposit per currency, in minor units'),
    submissionRequired: z.boolean().describe('The contractor must submit the work before the client can approve it'),
    reviewPeriodDays: z.number().int().min(1).max(365).nullable().describe('Days the client has to review submitted work before it is approved by default; null: no default approval'),
    deletableUntil: z.enum(['accepted', 'funded_unpaid']).describe('How far a milestone may go and still be removed'),
    platformFee: z
      .object({
        clientBps: z.number().int().min(0).max(5000).describe('Fee charged to the client on top of each payment, in basis points'),
        contractorBps: z.number().int().min(0).max(5000).describe('Fee kept from each payment to the contractor, in basis points'),
      })
      .strict()
      .describe('The platform’s fees, copied from the platform’s settings when the contract was proposed'),
    maxRevisionRounds: z.number().int().min(0).max(100).nullable().describe('How many times the client may send work back; null is no limit'),
    disputeResponseDays: z.number().int().min(1).max(90).describe('Days the other party has to answer a dispute'),
    disputeDefaultOutcome: z.enum(['opener_wins', 'release', 'refund']).describe('What happens to a dispute left unanswered'),
  })
  .strict()
  .meta({ description: 'The workflow rules of a contract, fixed when it is created (PRODUCT.md §3).' });

export type Policy = z.infer<typeof PolicySchema>;
export type Role = 'client' | 'contractor';

const base: Omit<Policy, 'preset'> = {
  milestoneCreators: 'both',
  changesNeedAcceptance: { client: true, contractor: true },
  escrow: 'required',
  fundingTrigger: 'client_funds',
  maxFundedMilestones: null,
  minFundingAmount: {},
  submissionRequired: true,
  reviewPeriodDays: 14,
  deletableUntil: 'accepted',
  platformFee: { clientBps: 0, contractorBps: 0 },
  maxRevisionRounds: null,
  disputeResponseDays: 7,
  disputeDefaultOutcome: 'opener_wins',
};

export const PRESETS = {
  /** Seed 000: the company adds, edits and deletes alone; no escrow; approval makes a draft payment. */
  company_managed: {
    ...base,
    preset: 'company_managed',
    milestoneCreators: 'client',
    changesNeedAcceptance: { client: false, contractor: true },
    escrow: 'none',
    reviewPeriodDays: null,
    deletableUntil: 'funded_unpaid',
  },
  /** Seed 001: client edits at once, contractor proposals need acceptance, one funded at a time, $5 minimum. */
  sequential_escrow: {
    ...base,
    preset: 'sequential_escrow',
    milestoneCreators: 'both',
    changesNeedAcceptance: { client: false, contractor: true },
    maxFundedMilestones: 1,
    minFundingAmount: { USD: 500, EUR: 500, GBP: 500, CAD: 500, AUD: 500 },
    submissionRequired: false,
  },
  /** Seed 002, customer creates: each task is sent to the freelancer, who must approve it before it can be paid. */
  client_creates: {
    ...base,
    preset: 'client_creates',
    milestoneCreators: 'client',
    changesNeedAcceptance: { client: true, contractor: true },
  },
  /** Seed 002, freelancer creates: the customer pays what the freelancer adds. */
  contractor_creates: {
    ...base,
    preset: 'contractor_creates',
    milestoneCreators: 'contractor',
    changesNeedAcceptance: { client: true, contractor: false },
  },
  /** Seed 003: hourly contracts with milestone payment requests and weekly invoices. */
  hourly_requests: {
    ...base,
    preset: 'hourly_requests',
    milestoneCreators: 'client',
    changesNeedAcceptance: { client: false, contractor: true },
    submissionRequired: false,
    reviewPeriodDays: null,
  },
  /** Seed 004: initial milestones and every change must be accepted by the specialist; fund before work. */
  accept_every_change: {
    ...base,
    preset: 'accept_every_change',
    milestoneCreators: 'client',
    changesNeedAcceptance: { client: true, contractor: true },
    maxRevisionRounds: 3,
  },
} satisfies Record<string, Policy>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as [PresetName, ...PresetName[]];
export const DEFAULT_PRESET: PresetName = 'client_creates';

/**
 * What a party may choose when proposing a contract: everything but the platform fee, which
 * the platform sets (PlatformSettings) and the contract copies so that both parties see it.
 */
export const PolicyOverridesSchema = PolicySchema.omit({ preset: true, platformFee: true })
  .extend({
    changesNeedAcceptance: z
      .object({ client: z.boolean().describe('The client’s changes need the contractor’s acceptance'), contractor: z.boolean().describe('The contractor’s changes need the client’s acceptance') })
      .partial()
      .strict()
      .describe('Whose changes to milestones the other party must accept'),
  })
  .partial()
  .strict();
export type PolicyOverrides = z.infer<typeof PolicyOverridesSchema>;

export const PolicyInputSchema = z.union([
  z.enum(PRESET_NAMES),
  z
    .object({
      preset: z.enum(PRESET_NAMES).describe('The preset to start from'),
      overrides: PolicyOverridesSchema.optional().describe('Rules that differ from the preset (any field of the policy but `preset` and `platformFee`)'),
    })
    .strict(),
]);
export type PolicyInput = z.infer<typeof PolicyInputSchema>;

/** The platform's part of every new contract's policy (see PlatformSettings). */
export type PlatformTerms = {
  fees: Policy['platformFee'];
  defaultPreset: PresetName;
  /** Smallest escrow deposit per currency; the larger of this and the preset's applies. */
  minimumAmounts: Record<string, number>;
};

export const NO_PLATFORM_TERMS: PlatformTerms = { fees: { clientBps: 0, contractorBps: 0 }, defaultPreset: DEFAULT_PRESET, minimumAmounts: {} };

/** A preset with a contract's overrides and the platform's terms applied, re-validated as a whole. */
export function resolvePolicy(raw: PolicyInput | undefined, platform: PlatformTerms = NO_PLATFORM_TERMS): Policy {
  // Validated here too, not only at the HTTP edge: an unknown preset or an override of `preset`
  // itself must not slip through (the first crashed, the second relabelled another preset).
  const input = raw === undefined ? undefined : PolicyInputSchema.safeParse(raw).data;
  if (raw !== undefined && input === undefined) throw new AppError('validation_failed', 'policy is not a known preset with valid overrides');
  const name = input === undefined ? platform.defaultPreset : typeof input === 'string' ? input : input.preset;
  const preset: Policy = PRESETS[name];
  const o = typeof input === 'object' ? (input.overrides ?? {}) : {};
  const minFundingAmount = { ...preset.minFundingAmount, ...o.minFundingAmount };
  for (const [currency, min] of Object.entries(platform.minimumAmounts)) minFundingAmount[currency] = Math.max(min, minFundingAmount[currency] ?? 0);
  const merged = {
    ...preset,
    ...o,
    changesNeedAcceptance: { ...preset.changesNeedAcceptance, ...o.changesNeedAcceptance },
    platformFee: { ...platform.fees },
    minFundingAmount,
  };
  const parsed = PolicySchema.safeParse(merged);
  if (!parsed.success) throw new AppError('validation_failed', 'policy overrides are not valid');
  if (parsed.data.escrow === 'none' && parsed.data.fundingTrigger === 'on_acceptance') {
    throw new AppError('validation_failed', 'policy: fundingTrigger on_acceptance needs escrow required', {}, [
      { field: 'policy.overrides.fundingTrigger', message: 'on_acceptance needs escrow: required' },
    ]);
  }
  return parsed.data;
}

export function needsAcceptance(policy: Policy, role: Role): boolean {
  return policy.changesNeedAcceptance[role];
}

export function mayCreateMilestones(policy: Policy, role: Role): boolean {
  return policy.milestoneCreators === 'both' || policy.milestoneCreators === role;
}

export const otherRole = (r: Role): Role => (r === 'client' ? 'contractor' : 'client');
