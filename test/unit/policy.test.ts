import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/domain/errors.ts';
import {
  DEFAULT_PRESET,
  mayCreateMilestones,
  needsAcceptance,
  otherRole,
  PolicyInputSchema,
  PolicySchema,
  PRESET_NAMES,
  PRESETS,
  resolvePolicy,
  type PolicyInput,
} from '../../src/domain/policy.ts';

/** What PRODUCT.md section 3 says of each preset, written out independently of policy.ts. */
const SPEC = {
  company_managed: { creators: 'client', accept: { client: false, contractor: true }, escrow: 'none', deletableUntil: 'funded_unpaid' },
  sequential_escrow: { creators: 'both', accept: { client: false, contractor: true }, escrow: 'required', maxFunded: 1, minUSD: 500 },
  client_creates: { creators: 'client', accept: { client: true, contractor: true }, escrow: 'required' },
  contractor_creates: { creators: 'contractor', accept: { client: true, contractor: false }, escrow: 'required' },
  hourly_requests: { creators: 'client', escrow: 'required' },
  accept_every_change: { creators: 'client', accept: { client: true, contractor: true }, escrow: 'required' },
} as const;

const expectValidationFailed = (f: () => unknown) => {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe('validation_failed');
  expect((err as AppError).status).toBe(422);
};

describe('presets', () => {
  it('has exactly the product’s preset names', () => {
    expect([...PRESET_NAMES].sort()).toEqual(Object.keys(SPEC).sort());
    expect(DEFAULT_PRESET).toBe('client_creates');
  });

  it.each(PRESET_NAMES)('%s is a valid policy and matches the spec', (name) => {
    const p = PRESETS[name];
    expect(PolicySchema.safeParse(p).success).toBe(true);
    expect(p.preset).toBe(name);
    const s: Record<string, unknown> = SPEC[name];
    expect(p.milestoneCreators).toBe(s.creators);
    expect(p.escrow).toBe(s.escrow);
    if (s.accept) expect(p.changesNeedAcceptance).toEqual(s.accept);
    if (s.deletableUntil) expect(p.deletableUntil).toBe(s.deletableUntil);
    if (s.maxFunded) expect(p.maxFundedMilestones).toBe(s.maxFunded);
    if (s.minUSD) expect(p.minFundingAmount.USD).toBe(s.minUSD);
    // no escrow never charges on acceptance
    if (p.escrow === 'none') expect(p.fundingTrigger).toBe('client_funds');
    // resolving the bare name gives the preset itself
    expect(resolvePolicy(name)).toEqual(p);
    expect(resolvePolicy({ preset: name })).toEqual(p);
    expect(resolvePolicy({ preset: name, overrides: {} })).toEqual(p);
  });

  it('resolvePolicy() without input is the default preset', () => {
    expect(resolvePolicy(undefined)).toEqual(PRESETS[DEFAULT_PRESET]);
  });

  it('resolving never mutates the presets', () => {
    const before = JSON.stringify(PRESETS);
    resolvePolicy({ preset: 'sequential_escrow', overrides: { minFundingAmount: { JPY: 1000 }, changesNeedAcceptance: { client: true } } }, { fees: { clientBps: 10, contractorBps: 0 }, defaultPreset: 'client_creates', minimumAmounts: { USD: 900 } });
    expect(JSON.stringify(PRESETS)).toBe(before);
  });
});

describe('overrides', () => {
  it('apply on top of the preset; nested objects merge field by field', () => {
    const p = resolvePolicy({
      preset: 'sequential_escrow',
      overrides: { changesNeedAcceptance: { client: true }, minFundingAmount: { JPY: 1000 }, maxFundedMilestones: null },
    });
    expect(p.changesNeedAcceptance).toEqual({ client: true, contractor: true });
    expect(p.platformFee).toEqual({ clientBps: 0, contractorBps: 0 });
    expect(p.minFundingAmount).toMatchObject({ USD: 500, JPY: 1000 });
    expect(p.maxFundedMilestones).toBeNull();
    expect(p.preset).toBe('sequential_escrow');
    expect(p.escrow).toBe('required');
  });

  it('any valid override set resolves to a valid policy that carries every override', () => {
    const overrides = fc.record(
      {
        milestoneCreators: fc.constantFrom('client', 'contractor', 'both'),
        changesNeedAcceptance: fc.record({ client: fc.boolean(), contractor: fc.boolean() }, { requiredKeys: [] }),
        escrow: fc.constantFrom('required', 'none'),
        maxFundedMilestones: fc.option(fc.integer({ min: 1, max: 1000 })),
        minFundingAmount: fc.dictionary(fc.constantFrom('USD', 'EUR', 'JPY'), fc.nat({ max: 100_000 })),
        submissionRequired: fc.boolean(),
        reviewPeriodDays: fc.option(fc.integer({ min: 1, max: 365 })),
        deletableUntil: fc.constantFrom('accepted', 'funded_unpaid'),
        maxRevisionRounds: fc.option(fc.integer({ min: 0, max: 100 })),
        disputeResponseDays: fc.integer({ min: 1, max: 90 }),
        disputeDefaultOutcome: fc.constantFrom('opener_wins', 'release', 'refund'),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.constantFrom(...PRESET_NAMES), overrides, (preset, o) => {
        const input = { preset, overrides: o } as PolicyInput;
        expect(PolicyInputSchema.safeParse(input).success).toBe(true);
        const p = resolvePolicy(input);
        expect(PolicySchema.safeParse(p).success).toBe(true);
        for (const [k, v] of Object.entries(o)) {
          const got = (p as Record<string, unknown>)[k];
          if (v !== null && typeof v === 'object') expect(got).toMatchObject(v);
          else expect(got).toEqual(v);
        }
        for (const k of Object.keys(PRESETS[preset]) as (keyof typeof p)[]) {
          if (!(k in o) && k !== 'preset') expect(p[k]).toEqual(PRESETS[preset][k]);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('the platform’s terms: its fees always, its default preset when none is named, the larger minimum', () => {
    const platform = { fees: { clientBps: 100, contractorBps: 1000 }, defaultPreset: 'contractor_creates' as const, minimumAmounts: { USD: 300, JPY: 50 } };
    const p = resolvePolicy(undefined, platform);
    expect(p.preset).toBe('contractor_creates');
    expect(p.platformFee).toEqual({ clientBps: 100, contractorBps: 1000 });
    expect(p.minFundingAmount).toEqual({ USD: 300, JPY: 50 });
    const q = resolvePolicy({ preset: 'sequential_escrow', overrides: { minFundingAmount: { JPY: 10 } } }, platform);
    expect(q.minFundingAmount).toMatchObject({ USD: 500, JPY: 50 });
    expect(q.platformFee).toEqual({ clientBps: 100, contractorBps: 1000 });
  });

  it('on_acceptance without escrow is refused', () => {
    expectValidationFailed(() => resolvePolicy({ preset: 'company_managed', overrides: { fundingTrigger: 'on_acceptance' } }));
    expectValidationFailed(() => resolvePolicy({ preset: 'client_creates', overrides: { escrow: 'none', fundingTrigger: 'on_acceptance' } }));
    expect(resolvePolicy({ preset: 'client_creates', overrides: { fundingTrigger: 'on_acceptance' } }).fundingTrigger).toBe('on_acceptance');
  });

  const bad: [string, unknown][] = [
    ['unknown field', { colour: 'blue' }],
    ['bad enum', { escrow: 'sometimes' }],
    ['bad creators', { milestoneCreators: 'admin' }],
    ['maxFundedMilestones 0', { maxFundedMilestones: 0 }],
    ['maxFundedMilestones fractional', { maxFundedMilestones: 1.5 }],
    ['negative minimum', { minFundingAmount: { USD: -1 } }],
    ['lowercase currency', { minFundingAmount: { usd: 100 } }],
    // Trust defect 2: fees are the platform's, never a party's (any platformFee override is refused).
    ['a party setting the platform fee', { platformFee: { contractorBps: 5000 } }],
    ['a party zeroing the platform fee', { platformFee: { clientBps: 0 } }],
    ['unknown acceptance side', { changesNeedAcceptance: { admin: true } }],
    ['acceptance not boolean', { changesNeedAcceptance: { client: 'yes' } }],
    ['review period 0', { reviewPeriodDays: 0 }],
    ['revision rounds negative', { maxRevisionRounds: -1 }],
    ['dispute days 0', { disputeResponseDays: 0 }],
    ['dispute days too many', { disputeResponseDays: 91 }],
    ['bad default outcome', { disputeDefaultOutcome: 'coin_flip' }],
    ['overriding the preset name', { preset: 'company_managed' }],
    ['string amount', { minFundingAmount: { USD: '500' } }],
  ];
  it.each(bad)('a bad override (%s) is an AppError validation_failed', (_name, overrides) => {
    expectValidationFailed(() => resolvePolicy({ preset: 'client_creates', overrides } as PolicyInput));
    expect(PolicyInputSchema.safeParse({ preset: 'client_creates', overrides }).success).toBe(false);
  });

  it('an unknown preset is an AppError validation_failed', () => {
    expectValidationFailed(() => resolvePolicy('freestyle' as PolicyInput));
    expectValidationFailed(() => resolvePolicy({ preset: 'toString' } as unknown as PolicyInput));
    expect(PolicyInputSchema.safeParse('freestyle').success).toBe(false);
  });
});

describe('helpers', () => {
  it('needsAcceptance / mayCreateMilestones / otherRole', () => {
    for (const name of PRESET_NAMES) {
      const p = PRESETS[name];
      for (const r of ['client', 'contractor'] as const) {
        expect(needsAcceptance(p, r)).toBe(p.changesNeedAcceptance[r]);
        expect(mayCreateMilestones(p, r)).toBe(p.milestoneCreators === 'both' || p.milestoneCreators === r);
      }
    }
    expect(otherRole('client')).toBe('contractor');
    expect(otherRole('contractor')).toBe('client');
  });
});
