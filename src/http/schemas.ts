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
  .meta({ example: 'USD', description: 'ISO 4217 currency code; amounts are integers in its minor unit' });
export const DueDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD').meta({ example: '2027-03-31', description: 'The date it is due (YYYY-MM-DD)' });
export const Title = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters').describe('A short title (1–200 characters)');
export const Description = z.string().max(5000, 'must be at most 5000 characters').describe('Details (at most 5000 characters)');
export const Reason = z.string().trim().min(1, 'is required').max(2000, 'must be at most 2000 characters').describe('Why, in words the other party reads (1–2000 characters)');
export const FileIds = z.array(Id('file')).max(20, 'at most 20 files').describe('Files uploaded with `POST /v1/files` (at most 20)');
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
    clientId: z
      .union([Id('user'), Id('organization')])
      .optional()
      .describe('a user, or an organisation you are a member of (its members then act for the client by role); leave it out when `counterpartyEmail` names the client'),
    contractorId: Id('user').optional().describe('The contractor (a user); leave it out when `counterpartyEmail` names the contractor'),
    counterpartyEmail: z
      .string()
      .trim()
      .toLowerCase()
      .email('must be an email address')
      .max(254)
      .optional()
      .describe('The other party by email, instead of their id: give your own side’s id (`clientId` or `contractorId`) and this; 422 naming this field when no user of the platform has it'),
    type: z.enum(['fixed', 'hourly']).describe('`fixed`: milestones with prices; `hourly`: time entries invoiced weekly at `hourlyRate`'),
    currency: Currency,
    policy: PolicyInputSchema.optional().describe('A preset name, or a preset with overrides; default: the platform’s default preset (`hourly_requests` for hourly contracts)'),
    hourlyRate: Amount.optional().describe('Hourly contracts (required there): minor units per hour, at least 1'),
    weeklyLimitHours: z.number().int().min(1).max(168).optional().describe('Hourly contracts: hours billed at most per week (1–168); absent is no limit'),
    milestones: z.array(NewMilestoneBody).max(100).optional().describe('Milestones proposed with the contract (at most 100)'),
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

export const Overview = z
  .object({
    total: z.number().int().describe('Sum of the live milestones’ amounts'),
    inEscrow: z.number().int().describe('Held in escrow now, from the ledger'),
    paid: z.number().int().describe('Paid to the contractor so far, from the ledger'),
    remaining: z.number().int().describe('Not yet paid: total − paid'),
    currency: z.string(),
  })
  .describe('The contract’s payment overview, read from the ledger (minor units)');

export const PartyProfileSchema = z
  .object({
    id: z.string().describe('The party: a user id, or the client organisation’s id'),
    kind: z.enum(['user', 'organization']).describe('`organization` when the client is a company whose members act for it'),
    name: z.string().describe('The name others see'),
    memberSince: Timestamp.describe('When the party joined the platform'),
    rating: z
      .object({
        average: z.number().describe('Average of the visible reviews, 1–5, two decimals'),
        count: z.number().int().describe('How many visible reviews'),
      })
      .nullable()
      .describe('From reviews left at the close of contracts, once visible; null without any'),
  })
  .meta({ id: 'PartyProfile', description: 'What the platform shows of a party to the people they work with (never an email address)' });

/** What the caller should do next on a contract (null: nothing waits for them). */
export const NEXT_ACTIONS = [
  'accept_proposal', 'answer_change_request', 'answer_refund_request', 'respond_dispute', 'accept_milestone', 'fund', 'submit', 'review', 'pay', 'leave_review',
] as const;

export const MilestoneSchema = z
  .object({
    id: z.string(),
    contractId: z.string(),
    position: z.number().int().describe('Place in the contract’s order, from 1'),
    title: z.string().describe('What the milestone delivers'),
    description: z.string().nullable().describe('Details of the work; null when none'),
    amount: z.number().int().describe('The milestone’s price in minor units'),
    currency: z.string(),
    dueDate: z.string(),
    status: z.enum(MILESTONE_STATUSES).describe('Where the milestone is in its lifecycle (docs/lifecycle.md)'),
    proposedBy: z.enum(['client', 'contractor']).nullable().describe('While `proposed`: the party who proposed it, the other one accepts or declines; otherwise null'),
    fundedAmount: z.number().int().describe('Deposited into escrow so far, in minor units'),
    releasedAmount: z.number().int().describe('Released from escrow to the contractor so far, in minor units'),
    refundedAmount: z.number().int().describe('Refunded from escrow to the client so far, in minor units'),
    inEscrow: z.number().int().describe('Held in escrow now: funded − released − refunded'),
    fundingPending: z.boolean().describe('A card deposit is accepted but not settled yet (money commands wait for it: 409 funding_pending)'),
    escrowFrozen: z.boolean().describe('The client’s bank disputes the card payment that funded the escrow (a chargeback): nothing may leave it until the bank decides (409 escrow_frozen)'),
    revisionCount: z.number().int().describe('How many times the client sent the work back'),
    attachmentIds: z.array(z.string()),
    submission: z
      .object({ note: z.string().nullable().describe('The contractor’s note with the work'), attachmentIds: z.array(z.string()), submittedAt: Timestamp })
      .nullable()
      .describe('The latest submitted work; null before the first submission'),
    lastRejectReason: z.string().nullable().describe('Why the client last sent the work back; null if never'),
    pendingApproval: z
      .object({
        approvedBy: z.string().describe('the member who gave the first approval'),
        approvedAt: Timestamp,
        action: z.enum(['approve', 'release']).describe('what a second member confirms: approving the milestone, or releasing `amount`'),
        amount: z.number().int().describe('minor units at stake'),
      })
      .nullable()
      .describe('Four eyes: while `approval_pending`, the first approval of a member of the client organisation, waiting for a second member'),
    externalId: ExternalId.nullable(),
    metadata: Metadata,
    version: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Milestone', description: 'A milestone: a piece of work with its price, funded into escrow and released on approval.' });

export const ContractSchema = z
  .object({
    id: z.string(),
    title: z.string().describe('What the contract is about'),
    description: z.string().nullable().describe('Details; null when none'),
    clientId: z.string(),
    contractorId: z.string(),
    createdBy: z.string().describe('The user who proposed the contract'),
    type: z.enum(['fixed', 'hourly']).describe('`fixed`: milestones with prices; `hourly`: time entries invoiced weekly'),
    currency: z.string(),
    status: z.enum(['proposal', 'active', 'closed', 'withdrawn', 'declined']).describe('`proposal` until the other party activates or declines it (or its proposer withdraws it); `active` until closed'),
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
    client: PartyProfileSchema.describe('The client party’s public profile (for an organisation: the organisation)'),
    contractor: PartyProfileSchema.describe('The contractor’s public profile'),
    viewerRole: z.enum(['client', 'contractor']).nullable().describe('The caller’s side of this contract; null for the platform admin'),
    nextAction: z
      .enum(NEXT_ACTIONS)
      .nullable()
      .describe(
        'What waits for the caller, most urgent first: `accept_proposal` (activate or decline the proposal), `answer_change_request`, `answer_refund_request`, ' +
          '`respond_dispute`, `accept_milestone` (a milestone the other party proposed), `fund` (client: an agreed milestone to fund), `submit` (contractor: ' +
          'funded or started work to submit), `review` (client: submitted work), `pay` (client: approved drafts to pay), `leave_review` (closed, not reviewed yet); null: nothing',
      ),
    overview: Overview.optional(),
    milestones: z.array(MilestoneSchema).optional().describe('The milestones in order (on the single-contract answers)'),
  })
  .meta({ id: 'Contract', description: 'A contract between a client and a contractor, with its policy and, for fixed contracts, its milestones.' });

export const PaymentSchema = z
  .object({
    id: z.string(),
    contractId: z.string(),
    milestoneId: z.string().nullable(),
    clientId: z.string(),
    contractorId: z.string(),
    kind: z.string().describe('What it pays: `milestone` (escrow released or a draft paid), `invoice` (an hourly invoice), …'),
    amount: z.number().int().describe('The gross amount in minor units'),
    fee: z.number().int().describe('The platform’s fee kept from it, in minor units'),
    net: z.number().int().describe('What the contractor receives: amount − fee'),
    currency: z.string(),
    status: z.enum(['draft', 'processing', 'paid', 'failed', 'refunded']).describe('`draft` waits for the client to pay (contracts without escrow); `processing` while a charge settles'),
    paidAt: Timestamp.nullable(),
    contractTitle: z.string().optional().describe('In lists: the title of the payment’s contract'),
    milestoneTitle: z.string().nullable().optional().describe('In lists: the title of the milestone it pays; null for an invoice or other payment without one'),
    pendingApproval: z
      .object({ approvedBy: z.string().describe('the finance member who paid first'), approvedAt: Timestamp })
      .nullable()
      .describe('Four eyes: a draft at or above the organisation’s approval threshold that one member paid; it is charged when a second member pays it'),
    version: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Payment', description: 'A payment to the contractor: escrow released, a draft paid, or an invoice paid.' });

const ChangeFields = z
  .object({ title: Title.optional(), amount: Amount.optional(), dueDate: DueDate.optional(), description: Description.nullish(), attachmentIds: FileIds.optional() })
  .strict()
  .describe('The fields to change (at least one)');

export const ChangeOperationSchema = z.discriminatedUnion('op', [
  z
    .object({
      op: z.literal('add').describe('Add a milestone'),
      milestone: z.object({ title: Title, amount: Amount, dueDate: DueDate, description: Description.nullish(), attachmentIds: FileIds.optional() }).strict().describe('The new milestone'),
    })
    .strict(),
  z.object({ op: z.literal('update').describe('Change a milestone'), milestoneId: Id('milestone').describe('The milestone to change'), changes: ChangeFields.refine((c) => Object.keys(c).length > 0, 'must change at least one field') }).strict(),
  z.object({ op: z.literal('remove').describe('Remove a milestone'), milestoneId: Id('milestone').describe('The milestone to remove') }).strict(),
  z.object({ op: z.literal('reorder').describe('Put milestones in a new order'), milestoneIds: z.array(Id('milestone')).min(1).max(500).describe('Every current milestone once, in the new order') }).strict(),
]);

const DiffSide = z
  .object({
    title: z.string().describe('The milestone’s title'),
    amount: z.number().int().describe('The milestone’s amount in minor units'),
    dueDate: z.string(),
    description: z.string().nullable().describe('The milestone’s details'),
    attachmentIds: z.array(z.string()),
    position: z.number().int().describe('Place in the contract’s order, from 1'),
  })
  .nullable();

export const CHANGE_REQUEST_STATUSES = ['open', 'accepted', 'declined', 'withdrawn', 'failed', 'superseded'] as const;

export const ChangeRequestSchema = z
  .object({
    id: z.string(),
    contractId: z.string(),
    authorId: z.string(),
    authorRole: z.enum(['client', 'contractor']).describe('The author’s side of the contract'),
    status: z
      .enum(CHANGE_REQUEST_STATUSES)
      .describe('`open` waits for the other party; `superseded`: the other party modified it, see `supersededBy` for their counter-proposal'),
    operations: z.array(z.any()).describe('The proposed operations, as sent (`add`, `update`, `remove`, `reorder`)'),
    message: z.string().nullable().describe('The author’s note to the other party'),
    diff: z
      .object({
        milestones: z
          .array(
            z.object({
              milestoneId: z.string().nullable().describe('The milestone changed; null for one the request adds'),
              change: z.enum(['added', 'updated', 'removed', 'moved']).describe('What happens to it'),
              before: DiffSide.describe('The milestone before; null when added'),
              after: DiffSide.describe('The milestone after; null when removed'),
            }),
          )
          .describe('Every milestone the request touches'),
        totalBefore: z.number().int().describe('The contract’s total before, in minor units'),
        totalAfter: z.number().int().describe('The contract’s total after, in minor units'),
      })
      .describe('What the request changes, milestone by milestone'),
    declineReason: z.string().nullable().describe('Why the other party declined; null otherwise'),
    failureReason: z.string().nullable().describe('Why accepting it failed (something it touches changed); null otherwise'),
    supersedes: z.string().nullable().describe('A counter-proposal: the change request of the other party that this one modified (and superseded)'),
    supersededBy: z.string().nullable().describe('When `superseded`: the other party’s counter-proposal that replaced this change request'),
    version: z.number().int(),
    resolvedAt: Timestamp.nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'ChangeRequest', description: 'A proposed change to a contract’s milestones that the other party accepts or declines.' });

export const DisputeSchema = z
  .object({
    id: z.string(),
    contractId: z.string(),
    milestoneId: z.string().nullable().meta({ description: 'The disputed milestone, or null for a dispute about an invoice.' }),
    invoiceId: z.string().nullable().meta({ description: 'Hourly contracts: the disputed invoice.' }),
    openedBy: z.string().describe('The user who opened the dispute'),
    openerRole: z.enum(['client', 'contractor']).describe('The opener’s side of the contract'),
    reason: z.string().describe('Why the dispute was opened'),
    evidenceIds: z.array(z.string()),
    status: z.enum(['open', 'responded', 'resolved']).describe('`open` until the other party responds; `resolved` once the admin (or the policy’s default) settled it'),
    respondBy: Timestamp.describe('The other party’s deadline to respond; then the policy’s default outcome applies'),
    response: z
      .object({ message: z.string().describe('The other party’s answer'), attachmentIds: z.array(z.string()), respondedAt: Timestamp })
      .nullable()
      .describe('The other party’s response; null until then'),
    resolution: z
      .object({
        releaseAmount: z.number().int().describe('Released to the contractor, in minor units'),
        refundAmount: z.number().int().describe('Refunded to the client, in minor units'),
        by: z.string().describe('Who settled it: `admin`, or `policy` for the default outcome'),
        resolvedAt: Timestamp,
      })
      .nullable()
      .describe('How the disputed amount was split; null while open'),
    version: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Dispute', description: 'A dispute over a milestone’s escrow or an hourly invoice; the platform admin settles it.' });

export const UserSchema = z
  .object({
    id: z.string(),
    platformId: z.string(),
    email: z.string(),
    name: z.string().describe('The person’s name as others see it'),
    hasPassword: z.boolean().describe('The user can log in to the web app with a password'),
    defaultPaymentMethod: z.string().nullable().describe('The payment method charged when a charge names none; null when none is saved'),
    externalId: ExternalId.nullable(),
    metadata: Metadata,
    version: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'User', description: 'A person on the platform: a client, a contractor or both.' });

export const ActivitySchema = z.object({
  id: z.string(),
  contractId: z.string(),
  milestoneId: z.string().nullable(),
  actorId: z.string().nullable(),
  actorRole: z.string().describe('Who acted: `client`, `contractor`, `admin` or `system` (the worker)'),
  kind: z.string().describe('What happened, as an event type (`milestone.funded`, …; the webhook event types)'),
  data: z.record(z.string(), z.unknown()).describe('The event’s details: amounts, titles, reasons'),
  createdAt: Timestamp,
});

export const NotificationSchema = z.object({
  id: z.string(),
  contractId: z.string().nullable(),
  kind: z.string().describe('The event it tells of (`milestone.funded`, …)'),
  title: z.string().describe('One line, as in the email’s subject'),
  body: z.string().describe('The text, as in the email'),
  data: z.record(z.string(), z.unknown()).describe('The event’s details'),
  readAt: Timestamp.nullable(),
  createdAt: Timestamp,
});

export const Page = <T extends z.ZodType>(item: T) =>
  z.object({ data: z.array(item).describe('The items of this page'), nextCursor: z.string().nullable().describe('Pass as `cursor` to get the next page; null on the last page') });
export const ListQuery = {
  limit: z.coerce.number().int().min(1).max(100).default(50).describe('At most this many items (1–100)'),
  cursor: z.string().max(200).optional().describe('The `nextCursor` of the previous page'),
};

export const ProblemSchema = z
  .object({
    type: z.string().describe('A URI naming the problem type: the code after https://tranche.dev/problems/'),
    title: z.string().describe('The code’s fixed title'),
    status: z.number().int().describe('The HTTP status'),
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]).describe(
      'The stable code; each always comes with the same HTTP status: ' + Object.entries(ERROR_CODES).map(([code, e]) => `\`${code}\` ${e.status}`).join(', ') + '.',
    ),
    detail: z.string().describe('What went wrong in this case, for a person'),
    instance: z.string().optional().describe('The request’s path'),
    requestId: z.string().optional().describe('The request’s id (also the `x-request-id` header), for the server’s logs'),
    errors: z
      .array(
        z.object({
          field: z.string().describe('The field, as a path: `milestones[0].dueDate`'),
          message: z.string().describe('What is wrong with it'),
          code: z.string().optional().describe('A machine-readable reason, such as `unknown_field`'),
        }),
      )
      .optional()
      .describe('With `validation_failed`: each invalid field'),
  })
  .passthrough()
  .meta({ id: 'Problem', description: 'RFC 9457 problem details with a stable `code`.' });

export const IdParams = (kind: IdKind) => z.object({ id: Id(kind).describe(`The ${kind}’s id`) }).strict();
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
  refundedAmount: 0, inEscrow: 150000, fundingPending: false, escrowFrozen: false, revisionCount: 0, attachmentIds: [], submission: null, lastRejectReason: null, pendingApproval: null, externalId: 'order-8841-1', metadata: { sprint: '12' },
  version: 3, createdAt: at, updatedAt: at,
};
example(MilestoneSchema, exMilestone);
example(ContractSchema, {
    id: exampleId('contract'), title: 'Mobile app redesign', description: null, clientId: exampleId('user', 1), contractorId: exampleId('user', 2),
    createdBy: exampleId('user', 1), type: 'fixed', currency: 'USD', status: 'active', policy: PRESETS.sequential_escrow, externalId: 'order-8841', metadata: { team: 'mobile' }, unreadMessages: 2, version: 2,
    hourlyRate: null, weeklyLimitHours: null,
    activatedAt: at, closedAt: null, createdAt: at, updatedAt: at,
    client: { id: exampleId('user', 1), kind: 'user', name: 'Ada Lovelace', memberSince: at, rating: { average: 4.5, count: 2 } },
    contractor: { id: exampleId('user', 2), kind: 'user', name: 'Grace Hopper', memberSince: at, rating: null },
    viewerRole: 'client', nextAction: null,
    overview: { total: 400000, inEscrow: 150000, paid: 0, remaining: 250000, currency: 'USD' }, milestones: [exMilestone],
});
example(PaymentSchema, { id: exampleId('payment'), contractId: exampleId('contract'), milestoneId: exampleId('milestone'), clientId: exampleId('user', 1), contractorId: exampleId('user', 2), kind: 'milestone', amount: 150000, fee: 0, net: 150000, currency: 'USD', status: 'paid', paidAt: at, pendingApproval: null, version: 1, createdAt: at, updatedAt: at });
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
