// The OpenAPI document's finishing rules: operation ids, optional bodies, no unused schemas.

/**
 * Stable `operationId`s for the OpenAPI document — the method names of the generated client —
 * derived from each route's method and path by one rule, so that no route can ship without one
 * and renaming is a deliberate act (a route may still name its own in `schema.operationId`).
 *
 *   GET    /v1/contracts                      listContracts
 *   POST   /v1/contracts                      createContract
 *   GET    /v1/contracts/{id}                 getContract
 *   PATCH  /v1/milestones/{id}                updateMilestone
 *   DELETE /v1/milestones/{id}                deleteMilestone
 *   POST   /v1/milestones/{id}/approve        approveMilestone
 *   GET    /v1/contracts/{id}/milestones      listContractMilestones
 *   POST   /v1/contracts/{id}/milestones      createContractMilestone
 *   PUT    /v1/contracts/{id}/milestone-order setContractMilestoneOrder
 *   GET    /v1/admin/ledger/check             getAdminLedgerCheck
 */
export function operationIdFor(method: string, url: string): string {
  const segments = url.replace(/^\/v1\//, '').split('/').filter(Boolean);
  const words: string[] = [];
  let lastWasParam = false;
  let endsWithParam = false;
  for (const [i, seg] of segments.entries()) {
    const isParam = seg.startsWith(':') || seg.startsWith('{');
    endsWithParam = isParam && i === segments.length - 1;
    if (isParam) {
      // A parameter makes the collection before it singular: /contracts/{id}/… → Contract…
      if (words.length && !lastWasParam) words[words.length - 1] = singular(words[words.length - 1]!);
      lastWasParam = true;
      continue;
    }
    words.push(...seg.split(/[-_.]/).filter(Boolean));
    lastWasParam = false;
  }
  const m = method.toUpperCase();
  const noun = pascal(words);
  const lastWord = words[words.length - 1] ?? '';
  // POST /things/{id}/verb → verbThing, POST /things/verb → verbThings (a command).
  if (m === 'POST' && !endsWithParam && words.length >= 2 && VERBS.has(lastWord)) return lastWord + pascal(words.slice(0, -1));
  if (m === 'GET') return (endsWithParam || !isPlural(lastWord) ? 'get' : 'list') + noun;
  if (m === 'POST') return endsWithParam ? `post${noun}` : isPlural(lastWord) ? `create${pascal([...words.slice(0, -1), singular(lastWord)])}` : `post${noun}`;
  if (m === 'PUT') return `set${noun}`;
  if (m === 'PATCH') return `update${noun}`;
  if (m === 'DELETE') return `delete${noun}`;
  return m.toLowerCase() + noun;
}

/** Words that, as the last segment after an id, name a command rather than a sub-resource. */
const VERBS = new Set([
  'accept', 'activate', 'approve', 'close', 'counter', 'decline', 'dispute', 'fund', 'pay', 'read', 'redeliver', 'reject',
  'release', 'resolve', 'respond', 'revoke', 'rotate', 'submit', 'test', 'withdraw', 'refund', 'void', 'leave', 'login', 'logout', 'run',
]);

const IRREGULAR: Record<string, string> = { activity: 'activity', settings: 'settings', payouts: 'payout', entries: 'entry', deliveries: 'delivery', categories: 'category' };

function singular(w: string): string {
  if (IRREGULAR[w]) return IRREGULAR[w]!;
  if (w.endsWith('ies')) return w.slice(0, -3) + 'y';
  if (w.endsWith('sses')) return w.slice(0, -2);
  if (w.endsWith('s') && !w.endsWith('ss')) return w.slice(0, -1);
  return w;
}

const isPlural = (w: string) => w !== singular(w) || w === 'activity';

const pascal = (words: string[]) => words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');

/**
 * Drops component schemas nothing refers to (the zod provider registers an input and an
 * output variant of every named schema; only the ones the routes use belong in the document).
 */
export function pruneUnusedSchemas<T extends { components?: { schemas?: Record<string, unknown> } }>(doc: T): T {
  const schemas = doc.components?.schemas;
  if (!schemas) return doc;
  const refsIn = (v: unknown) => [...JSON.stringify(v).matchAll(/"#\/components\/schemas\/([^"]+)"/g)].map((m) => decodeURIComponent(m[1]!));
  const { components, ...rest } = doc;
  const used = new Set(refsIn(rest));
  // Follow references from used schemas to the schemas they use, until nothing new appears.
  for (let frontier = [...used]; frontier.length; ) {
    frontier = frontier.flatMap((name) => refsIn(schemas[name] ?? {})).filter((n) => !used.has(n));
    for (const n of frontier) used.add(n);
  }
  return { ...doc, components: { ...components, schemas: Object.fromEntries(Object.entries(schemas).filter(([k]) => used.has(k))) } };
}

type Doc = { paths?: Record<string, Record<string, { requestBody?: { required?: boolean; content?: Record<string, { schema?: { anyOf?: unknown[] } }> } }>> };

/**
 * A command whose body schema accepts null (zod `.nullish()`) takes no body at all: a missing
 * body is `{}` (PRODUCT.md §4), so its request body is documented as optional.
 */
export function markOptionalBodies<T extends Doc>(doc: T): T {
  for (const ops of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(ops)) {
      const schema = op.requestBody?.content?.['application/json']?.schema;
      if (op.requestBody && schema?.anyOf?.some((s) => (s as { type?: string }).type === 'null')) op.requestBody.required = false;
    }
  }
  return doc;
}

type TransformInput = { schema?: { response?: Record<string, unknown> } & Record<string, unknown> } & Record<string, unknown>;
type TransformOutput = { schema: { response?: Record<string, unknown> } & Record<string, unknown> } & Record<string, unknown>;

/**
 * Lets a route describe a non-JSON answer (file bytes) with a plain OpenAPI response object —
 * `{description, content: {…}}` — which the zod transform would refuse: such responses are set
 * aside, the rest goes through `transform`, and they are put back as written.
 */
export function withRawResponses<I extends TransformInput, O extends TransformOutput>(transform: (input: I) => O): (input: I) => O {
  return (input) => {
    const response = input.schema?.response;
    const raw = Object.entries(response ?? {}).filter(([, v]) => typeof v === 'object' && v !== null && 'content' in v && !('_zod' in v));
    if (!raw.length) return transform(input);
    const rest = Object.fromEntries(Object.entries(response!).filter(([k]) => !raw.some(([r]) => r === k)));
    const out = transform({ ...input, schema: { ...input.schema, response: rest } });
    return { ...out, schema: { ...out.schema, response: { ...out.schema.response, ...Object.fromEntries(raw) } } };
  };
}

/**
 * A field name means one thing across the API: these are described once here, for every schema
 * that has them without a description of its own (a route describes a field itself where it
 * means something more particular). `npm run check:openapi` fails on any field left undescribed.
 */
export const FIELD_GLOSSARY: Record<string, string> = {
  id: 'The id of this resource: a type prefix and a ULID',
  createdAt: 'When it was created',
  updatedAt: 'When it last changed',
  version: 'Incremented by every change; send it back as `If-Match` or `expectedVersion` to change the resource only if nobody else did',
  currency: 'ISO 4217 currency code; every amount beside it is in this currency’s minor unit',
  nextCursor: 'Pass as `cursor` to get the next page; null on the last page',
  contractId: 'The contract it belongs to',
  milestoneId: 'The milestone it concerns, if any',
  invoiceId: 'The invoice it concerns, if any',
  disputeId: 'The dispute it concerns, if any',
  platformId: 'The platform (marketplace) it belongs to',
  organizationId: 'The organisation concerned',
  userId: 'The user concerned',
  messageId: 'The message concerned',
  clientId: 'The client: a user, or an organisation whose members act for it by role',
  contractorId: 'The contractor (a user)',
  authorId: 'The user who wrote it',
  actorId: 'The user who acted; null for the platform admin and the system',
  attachmentIds: 'Files attached (ids from `POST /v1/files`)',
  evidenceIds: 'Files given as evidence (ids from `POST /v1/files`)',
  dueDate: 'The date it is due (YYYY-MM-DD)',
  email: 'An email address',
  amount: 'An amount in the currency’s minor unit (an integer)',
  externalId: 'Your own id for it (unique per platform), set by the platform admin; null when none',
  metadata: 'Your own string key–value pairs, set by the platform admin',
  paidAt: 'When it was paid; null until then',
  readAt: 'When it was read; null while unread',
  resolvedAt: 'When it was resolved; null while open',
  revokedAt: 'When it was revoked; null while it works',
  disabledAt: 'When it was disabled; null while enabled',
  expiresAt: 'When it stops working',
  submittedAt: 'When the work was submitted',
  approvedAt: 'When it was approved',
  activatedAt: 'When the contract went live; null while a proposal',
  closedAt: 'When the contract was closed; null while open',
  respondedAt: 'When the other party responded',
  answeredAt: 'When it was answered; null while open',
  joinedAt: 'When the member joined',
  attemptedAt: 'When the attempt was made',
  lastFour: 'The last four characters of the secret, to tell tokens apart',
  sha256: 'SHA-256 of the content, hex',
  size: 'Size in bytes',
  contentType: 'The media type of the content',
  filename: 'The file’s name as uploaded',
  weeklyLimitHours: 'Hours billed at most per week (1–168); null is no limit',
  hourlyRate: 'Minor units of the currency per hour',
  inEscrow: 'Held in escrow now, in minor units',
  memo: 'What the time was spent on',
  minutes: 'Minutes of work (1–1440)',
  date: 'The day (YYYY-MM-DD)',
};

type SchemaNode = Record<string, unknown>;

/** Fills the description of every undescribed property the glossary names (see FIELD_GLOSSARY). */
export function describeCommonFields<T extends object>(doc: T): T {
  const seen = new Set<unknown>();
  const walk = (node: unknown) => {
    if (typeof node !== 'object' || node === null || seen.has(node)) return;
    seen.add(node);
    if (Array.isArray(node)) return node.forEach(walk);
    const n = node as SchemaNode;
    const props = n.properties as Record<string, SchemaNode> | undefined;
    if (props && typeof props === 'object' && n.type === 'object') {
      for (const [name, prop] of Object.entries(props)) {
        const text = FIELD_GLOSSARY[name];
        if (text && typeof prop === 'object' && prop !== null && !prop.description && !(typeof prop.$ref === 'string' && Object.keys(prop).length === 1)) prop.description = text;
      }
    }
    for (const v of Object.values(n)) walk(v);
  };
  walk(doc);
  return doc;
}
