import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../domain/errors.ts';
import { ID_PREFIXES, idPattern, type IdKind } from '../domain/ids.ts';
import { MILESTONE_STATUSES } from '../domain/milestone-machine.ts';
import { isCurrency, MAX_AMOUNT } from '../domain/money.ts';
import { ExternalId, Metadata } from '../domain/operator-fields.ts';
import { PolicyInputSchema, PolicySchema, PRESETS } from '../domain/policy.ts';


/** Request and response schemas: one zod schema gives validation, TypeScript types and OpenAPI. */
const EXAMPLE_SUFFIX = '01jdq4z9v6x7m3k8t2w5r1c0ab';
/** An example id of a kind, as the API shows them (prefix + ULID). */
export const exampleId = (kind: IdKind, n = 0) => `${ID_PREFIXES[kind]}_${EXAMPLE_SUFFIX.slice(0, 25)}${'abcdefgh'[n] ?? 'a'}`;
export const Id = (kind: IdKind) => z.string().regex(idPattern(kind), `must be a ${kind} id`).meta({ example: exampleId(kind) });

export const Amount = z
  .number({ error: 'must be an integer amount in the currency’s minor unit' })
  .int('must be an integer amount in the currency’s minor unit (no decimals)')
  .positive('must be greater than zero')
  .max(MAX_AMOUNT, `must be at most ${MAX_AMOUNT}`)
  .meta({ description: 'Integer count of the currency’s minor unit (cents for USD, yen for JPY, fils for BHD).', example: 150000 });
export const NonNegativeAmount = z.number().int().min(0).max(MAX_AMOUNT);
export const Currency = z
  .string()
  .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD')
  .refine(isCurrency, 'is not a supported ISO 4217 currency')
  .meta({ example: 'USD' });
export const DueDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD').meta({ example: '2027-03-31' });
export const Title = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
export const Description = z.string().max(5000, 'must be at most 5000 characters');
export const Reason = z.string().trim().min(1, 'is required').max(2000, 'must be at most 2000 characters');
export const FileIds = z.array(Id('file')).max(20, 'at most 20 files');
export const PaymentMethod = z
  .string()
  .regex(/^pm_[A-Za-z0-9_]{1,60}$/, 'must be a payment method id such as pm_card_ok')
  .meta({
    example: 'pm_card_ok',
    description:
      'A payment method of the configured provider. The embedded sandbox provider knows three test cards: `pm_card_ok` (succeeds), ' +
      '`pm_card_declined` (declined at once: 402 payment_declined) and `pm_card_fails_later` (accepted, then fails: the escrow is reversed).',
  });
export const Timestamp = z.string().meta({ format: 'date-time' });
export const Version = z.number().int().min(1);

export const ExpectedVersion = { expectedVersion: Version.optional().meta({ description: 'Fail with 409 version_mismatch unless the resource is at this version (same as If-Match).' }) };

export const NewMilestoneBody = z
  .object({ title: Title, amount: Amount, dueDate: DueDate, description: Description.nullish(), attachmentIds: FileIds.optional(), externalId: ExternalId.optional(), metadata: Metadata.optional() })
  .strict()
  .meta({ example: { title: 'Wireframes', amount: 150000, dueDate: '2027-03-31', description: 'Low-fidelity wireframes of all screens' } });

export const ContractCreateBody = z
  .object({
    title: Title,
    description: Description.nullish(),
    clientId: z.union([Id('user'), Id('organization')]).describe('a user, or an organisation you are a member of (its members then act for the client by role)'),
    contractorId: Id('user'),
    type: z.enum(['fixed', 'hourly']),
    currency: Currency,
    policy: PolicyInputSchema.optional(),
    hourlyRate: Amount.optional(),
    weeklyLimitHours: z.number().int().min(1).max(168).optional(),
    milestones: z.array(NewMilestoneBody).max(100).optional(),
    externalId: ExternalId.optional(),
    metadata: Metadata.optional(),
  })
  .strict()
  .meta({
    example: {
      title: 'Mobile app redesign',
      clientId: 'usr_01jd0000000000000000000001',
      contractorId: 'usr_01jd0000000000000000000002',
      type: 'fixed',
      currency: 'USD',
      policy: 'sequential_escrow',
      milestones: [{ title: 'Wireframes', amount: 150000, dueDate: '2027-03-31' }],
    },
  });

export const Overview = z.object({ total: z.number().int(), inEscrow: z.number().int(), paid: z.number().int(), remaining: z.number().int(), currency: z.string() });

export const MilestoneSchema = z
  .object({
    id: z.string(),
    contractId: z.string(),
    position: z.number().int(),
    title: z.string(),
    description: z.string().nullable(),
    amount: z.number().int(),
    currency: z.string(),
    dueDate: z.string(),
    status: z.enum(MILESTONE_STATUSES),
    proposedBy: z.enum(['client', 'contractor']).nullable(),
    fundedAmount: z.number().int(),
    releasedAmount: z.number().int(),
    refundedAmount: z.number().int(),
    inEscrow: z.number().int(),
    fundingPending: z.boolean(),
    revisionCount: z.number().int(),
    attachmentIds: z.array(z.string()),
    submission: z.object({ note: z.string().nullable(), attachmentIds: z.array(z.string()), submittedAt: Timestamp }).nullable(),
    lastRejectReason: z.string().nullable(),
    externalId: ExternalId.nullable(),
    metadata: Metadata,
    version: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Milestone' });

export const ContractSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    description: z.string().nullable(),
    clientId: z.string(),
    contractorId: z.string(),
    createdBy: z.string(),
    type: z.enum(['fixed', 'hourly']),
    currency: z.string(),
    status: z.enum(['proposal', 'active', 'closed', 'withdrawn', 'declined']),
    policy: PolicySchema,
    externalId: ExternalId.nullable(),
    metadata: Metadata,
    unreadMessages: z.number().int().min(0).meta({ description: 'Messages on the contract’s conversation that the caller has not read (0 for the platform admin).' }),
    hourlyRate: z.number().int().nullable().meta({ description: 'Hourly contracts: minor units per hour (the terms agreed at activation).' }),
    weeklyLimitHours: z.number().int().nullable().meta({ description: 'Hourly contracts: hours billed at most per week; null is no limit.' }),
    version: z.number().int(),
    activatedAt: Timestamp.nullable(),
    closedAt: Timestamp.nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    overview: Overview.optional(),
    milestones: z.array(MilestoneSchema).optional(),
  })
  .meta({ id: 'Contract' });

export const PaymentSchema = z
  .object({
    id: z.string(),
    contractId: z.string(),
    milestoneId: z.string().nullable(),
    clientId: z.string(),
    contractorId: z.string(),
    kind: z.string(),
    amount: z.number().int(),
    fee: z.number().int(),
    net: z.number().int(),
    currency: z.string(),
    status: z.enum(['draft', 'processing', 'paid', 'failed', 'refunded']),
    paidAt: Timestamp.nullable(),
    version: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Payment' });

const ChangeFields = z
  .object({ title: Title.optional(), amount: Amount.optional(), dueDate: DueDate.optional(), description: Description.nullish(), attachmentIds: FileIds.optional() })
  .strict();

export const ChangeOperationSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('add'), milestone: z.object({ title: Title, amount: Amount, dueDate: DueDate, description: Description.nullish(), attachmentIds: FileIds.optional() }).strict() }).strict(),
  z.object({ op: z.literal('update'), milestoneId: Id('milestone'), changes: ChangeFields.refine((c) => Object.keys(c).length > 0, 'must change at least one field') }).strict(),
  z.object({ op: z.literal('remove'), milestoneId: Id('milestone') }).strict(),
  z.object({ op: z.literal('reorder'), milestoneIds: z.array(Id('milestone')).min(1).max(500) }).strict(),
]);

const DiffSide = z
  .object({ title: z.string(), amount: z.number().int(), dueDate: z.string(), description: z.string().nullable(), attachmentIds: z.array(z.string()), position: z.number().int() })
  .nullable();

export const CHANGE_REQUEST_STATUSES = ['open', 'accepted', 'declined', 'withdrawn', 'failed', 'superseded'] as const;

export const ChangeRequestSchema = z
  .object({
    id: z.string(),
    contractId: z.string(),
    authorId: z.string(),
    authorRole: z.enum(['client', 'contractor']),
    status: z
      .enum(CHANGE_REQUEST_STATUSES)
      .describe('`open` waits for the other party; `superseded`: the other party modified it, see `supersededBy` for their counter-proposal'),
    operations: z.array(z.any()),
    message: z.string().nullable(),
    diff: z.object({
      milestones: z.array(z.object({ milestoneId: z.string().nullable(), change: z.enum(['added', 'updated', 'removed', 'moved']), before: DiffSide, after: DiffSide })),
      totalBefore: z.number().int(),
      totalAfter: z.number().int(),
    }),
    declineReason: z.string().nullable(),
    failureReason: z.string().nullable(),
    supersedes: z.string().nullable().describe('A counter-proposal: the change request of the other party that this one modified (and superseded)'),
    supersededBy: z.string().nullable().describe('When `superseded`: the other party’s counter-proposal that replaced this change request'),
    version: z.number().int(),
    resolvedAt: Timestamp.nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'ChangeRequest' });

export const DisputeSchema = z
  .object({
    id: z.string(),
    contractId: z.string(),
    milestoneId: z.string().nullable().meta({ description: 'The disputed milestone, or null for a dispute about an invoice.' }),
    invoiceId: z.string().nullable().meta({ description: 'Hourly contracts: the disputed invoice.' }),
    openedBy: z.string(),
    openerRole: z.enum(['client', 'contractor']),
    reason: z.string(),
    evidenceIds: z.array(z.string()),
    status: z.enum(['open', 'responded', 'resolved']),
    respondBy: Timestamp,
    response: z.object({ message: z.string(), attachmentIds: z.array(z.string()), respondedAt: Timestamp }).nullable(),
    resolution: z.object({ releaseAmount: z.number().int(), refundAmount: z.number().int(), by: z.string(), resolvedAt: Timestamp }).nullable(),
    version: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Dispute' });

export const UserSchema = z
  .object({
    id: z.string(),
    platformId: z.string(),
    email: z.string(),
    name: z.string(),
    hasPassword: z.boolean(),
    defaultPaymentMethod: z.string().nullable(),
    externalId: ExternalId.nullable(),
    metadata: Metadata,
    version: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'User' });

export const ActivitySchema = z.object({
  id: z.string(),
  contractId: z.string(),
  milestoneId: z.string().nullable(),
  actorId: z.string().nullable(),
  actorRole: z.string(),
  kind: z.string(),
  data: z.record(z.string(), z.unknown()),
  createdAt: Timestamp,
});

export const NotificationSchema = z.object({
  id: z.string(),
  contractId: z.string().nullable(),
  kind: z.string(),
  title: z.string(),
  body: z.string(),
  data: z.record(z.string(), z.unknown()),
  readAt: Timestamp.nullable(),
  createdAt: Timestamp,
});

export const Page = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), nextCursor: z.string().nullable() });
export const ListQuery = { limit: z.coerce.number().int().min(1).max(100).default(50), cursor: z.string().max(200).optional() };

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]).describe(
      'The stable code; each always comes with the same HTTP status: ' + Object.entries(ERROR_CODES).map(([code, e]) => `\`${code}\` ${e.status}`).join(', ') + '.',
    ),
    detail: z.string(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string(), code: z.string().optional() })).optional(),
  })
  .passthrough()
  .meta({ id: 'Problem', description: 'RFC 9457 problem details with a stable `code`.' });

export const IdParams = (kind: IdKind) => z.object({ id: Id(kind) }).strict();
export const NoBody = z.object({}).strict().nullish();
/** A 204 answer: no body. */
export const NoContent = z.null().describe('No content');

// Examples shown in the OpenAPI document for every resource. `.meta()` returns a copy, so the
// example is added to the registry entry of the schema instance the routes use.
function example(schema: z.ZodType, ex: unknown, extra: Record<string, unknown> = {}) {
  const prev = z.globalRegistry.get(schema) ?? {};
  z.globalRegistry.remove(schema);
  z.globalRegistry.add(schema, { ...prev, ...extra, example: ex });
}
const at = '2026-11-22T10:00:00.000Z';
const exMilestone = {
  id: exampleId('milestone'), contractId: exampleId('contract'), position: 1, title: 'Wireframes', description: 'Low-fidelity wireframes of all screens',
  amount: 150000, currency: 'USD', dueDate: '2027-03-31', status: 'funded', proposedBy: null, fundedAmount: 150000, releasedAmount: 0,
  refundedAmount: 0, inEscrow: 150000, fundingPending: false, revisionCount: 0, attachmentIds: [], submission: null, lastRejectReason: null, externalId: 'order-8841-1', metadata: { sprint: '12' },
  version: 3, createdAt: at, updatedAt: at,
};
example(MilestoneSchema, exMilestone);
example(ContractSchema, {
    id: exampleId('contract'), title: 'Mobile app redesign', description: null, clientId: exampleId('user', 1), contractorId: exampleId('user', 2),
    createdBy: exampleId('user', 1), type: 'fixed', currency: 'USD', status: 'active', policy: PRESETS.sequential_escrow, externalId: 'order-8841', metadata: { team: 'mobile' }, unreadMessages: 2, version: 2,
    hourlyRate: null, weeklyLimitHours: null,
    activatedAt: at, closedAt: null, createdAt: at, updatedAt: at,
    overview: { total: 400000, inEscrow: 150000, paid: 0, remaining: 250000, currency: 'USD' }, milestones: [exMilestone],
});
example(PaymentSchema, { id: exampleId('payment'), contractId: exampleId('contract'), milestoneId: exampleId('milestone'), clientId: exampleId('user', 1), contractorId: exampleId('user', 2), kind: 'milestone', amount: 150000, fee: 0, net: 150000, currency: 'USD', status: 'paid', paidAt: at, version: 1, createdAt: at, updatedAt: at });
example(ChangeRequestSchema, {
    id: exampleId('changeRequest'), contractId: exampleId('contract'), authorId: exampleId('user', 2), authorRole: 'contractor', status: 'open',
    operations: [{ op: 'update', milestoneId: exampleId('milestone'), changes: { amount: 175000 } }], message: 'More screens than planned',
    diff: { milestones: [{ milestoneId: exampleId('milestone'), change: 'updated', before: { title: 'Wireframes', amount: 150000, dueDate: '2027-03-31', description: null, attachmentIds: [], position: 1 }, after: { title: 'Wireframes', amount: 175000, dueDate: '2027-03-31', description: null, attachmentIds: [], position: 1 } }], totalBefore: 400000, totalAfter: 425000 },
    declineReason: null, failureReason: null, supersedes: null, supersededBy: null, version: 1, resolvedAt: null, createdAt: at, updatedAt: at,
});
example(DisputeSchema, { id: exampleId('dispute'), contractId: exampleId('contract'), milestoneId: exampleId('milestone'), invoiceId: null, openedBy: exampleId('user', 1), openerRole: 'client', reason: 'The delivered screens do not match the brief', evidenceIds: [], status: 'open', respondBy: '2026-11-29T10:00:00.000Z', response: null, resolution: null, version: 1, createdAt: at, updatedAt: at });
example(UserSchema, { id: exampleId('user'), platformId: exampleId('platform'), email: 'ada@example.com', name: 'Ada Lovelace', hasPassword: true, defaultPaymentMethod: 'pm_card_ok', externalId: 'acct-42', metadata: {}, version: 1, createdAt: at, updatedAt: at });
example(ActivitySchema, { id: exampleId('activity'), contractId: exampleId('contract'), milestoneId: exampleId('milestone'), actorId: exampleId('user', 1), actorRole: 'client', kind: 'milestone.funded', data: { title: 'Wireframes', amount: 150000, currency: 'USD' }, createdAt: at });
example(NotificationSchema, { id: exampleId('notification'), contractId: exampleId('contract'), kind: 'milestone.funded', title: 'Milestone “Wireframes” funded', body: '1500.00 USD is held in escrow for “Wireframes”. Work can start.', data: {}, readAt: null, createdAt: at });
example(ProblemSchema, { type: 'https://tranche.dev/problems/invalid_state', title: 'The resource is not in a state that allows this', status: 409, code: 'invalid_state', detail: 'milestone is funded', state: 'funded', instance: '/v1/milestones/ms_…/fund', requestId: 'req_…' });
