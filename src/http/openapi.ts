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
