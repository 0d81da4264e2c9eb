import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, inDays, newParties, newUser, startTestServer, type Engine, type TestServer } from '../support/harness.ts';
import { foreignPlatformUser, mapLimit, prng, runSeed, type Prng } from '../support/reliability-helpers.ts';

/**
 * API fuzzing from the OpenAPI document (PRODUCT.md §5: "a bad one gets a 4xx problem with the
 * field named, never a 500"). Requests are generated for every route of GET /openapi.json:
 * valid bodies built from the zod-derived JSON schemas with real ids of a seeded world, and
 * invalid ones (wrong types, missing and unknown fields, huge strings, unicode and emoji,
 * NUL bytes, negative/fractional/huge amounts, null, arrays, broken JSON, other media types),
 * path parameters of other parties, of another platform and garbage, every kind of caller.
 * Zero 5xx answers are allowed; every 4xx must be a problem+json with a code; the ledger check
 * is clean at the end. FUZZ_REQUESTS (default 10,000) is split across the engines of the run
 * (30% PGlite, 70% PostgreSQL).
 */
const TOTAL = Number(process.env.FUZZ_REQUESTS ?? 10_000);
const CONCURRENCY = 16;

type Schema = Record<string, any>;
type Op = { method: string; path: string; params: Schema[]; body?: Schema; hasBody: boolean };

/** Strings that have broken parsers, databases and loggers before. */
const NASTY = [
  '', ' ', '\u0000', 'a\u0000b', '\u202e\u0041\u0042', '\u200b', '💸🔥🧾', '👩‍👩‍👧‍👦', 'ﷺ', 'Ω≈ç√∫', '𝕿𝖗𝖆𝖓𝖈𝖍𝖊', '\ud800', '\udfff', 'Robert"); DROP TABLE contracts;--',
  "' OR 1=1 --", '<script>alert(1)</script>', '${jndi:ldap://x}', '%00', '../../etc/passwd', '\\', '"', '\n\r\t', 'null', 'undefined', 'NaN', '-1', '1e309',
  '0x1F', 'usr_', 'ms_00000000000000000000000000', 'ctr_ZZZZZZZZZZZZZZZZZZZZZZZZZZ', 'pm_card_ok\u0000', 'USD\n', '2027-02-30', '9999-99-99', '0000-00-00', '2027-13-01',
];
/** Nesting far past any schema, around a NUL (a recursive scan of it once overflowed the stack before authentication). */
const DEEP_ARRAYS_NUL = '['.repeat(100_000) + '"\\u0000"' + ']'.repeat(100_000);
const DEEP_OBJECTS_NUL = '{"a":'.repeat(20_000) + '"\\u0000"' + '}'.repeat(20_000);
const NUMBERS = [0, -0, -1, 1.5, -1.5, 0.1, 1e-7, 2 ** 31, 2 ** 53, 2 ** 53 + 2, 9_007_199_254_740_993, 1e21, 1e308, -1e308, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER];

describe.each(engines())('fuzz from the OpenAPI document on %s', (engine: Engine) => {
  let s: TestServer;
  // PGlite serves one statement at a time: it gets the smaller part when PostgreSQL also runs.
  const share = engines().length === 1 ? TOTAL : Math.ceil(TOTAL * (engine === 'pglite' ? 0.3 : 0.7));
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  it(`answers ${share} generated requests without a single 5xx`, async () => {
    const seed = runSeed(`fuzz/${engine}`);

    // ---- a small world with resources in many states ----
    const { client, contractor } = await newParties(s);
    const stranger = await newUser(s, 'stranger');
    const foreign = await foreignPlatformUser(s.db);
    const spare = await newUser(s, 'spare'); // its token id is the only valid target of DELETE /tokens/{id}
    const spareToken = (await s.admin.post(`/v1/users/${spare.id}/tokens`, {})).body.id as string;
    const ids: Record<string, string[]> = { usr: [client.id, contractor.id, stranger.id, foreign.userId, spare.id], plt: [foreign.platformId, s.platformId], tok: [spareToken] };
    const add = (id: string | undefined | null) => {
      if (!id) return;
      const prefix = id.split('_')[0]!;
      (ids[prefix] ??= []).includes(id) || ids[prefix]!.push(id);
    };
    const mk = async (policy: unknown, n: number, activate = true, by: 'client' | 'contractor' = 'client') => {
      const api = by === 'client' ? client.api : contractor.api;
      const c = await api.post('/v1/contracts', {
        title: 'Fuzz world', clientId: client.id, contractorId: contractor.id, type: 'fixed', currency: 'USD', policy,
        milestones: Array.from({ length: n }, (_, j) => ({ title: `W${j}`, amount: 1000 * (j + 1), dueDate: inDays(20 + j) })),
      });
      expect(c.status).toBe(201);
      add(c.body.id);
      // The party who did not propose it makes it live.
      if (activate) expect((await (by === 'client' ? contractor : client).api.post(`/v1/contracts/${c.body.id}/activate`)).status).toBe(200);
      const ms = (c.body.milestones as { id: string }[]).map((m) => m.id);
      ms.forEach(add);
      return { id: c.body.id as string, ms };
    };
    const escrow = { preset: 'sequential_escrow', overrides: { maxFundedMilestones: null } };
    const a = await mk(escrow, 6);
    const fund = (id: string) => client.api.post(`/v1/milestones/${id}/fund`);
    for (const id of a.ms.slice(1)) expect((await fund(id)).status).toBe(200);
    expect((await contractor.api.post(`/v1/milestones/${a.ms[2]}/submit`, { note: 'n' })).status).toBe(200);
    expect((await client.api.post(`/v1/milestones/${a.ms[3]}/approve`)).status).toBe(200);
    const d = await contractor.api.post(`/v1/milestones/${a.ms[4]}/dispute`, { reason: 'late' });
    expect(d.status).toBe(201);
    add(d.body.id);
    expect((await client.api.post(`/v1/milestones/${a.ms[5]}/release`, { amount: 100 })).status).toBe(200);
    const p1 = await contractor.api.post(`/v1/contracts/${a.id}/milestones`, { title: 'proposed', amount: 700, dueDate: inDays(9) });
    add(p1.body.id);
    await mk(escrow, 2, false); // a proposal
    await mk('contractor_creates', 2, false, 'contractor');
    const b = await mk(escrow, 3);
    const cr = await contractor.api.post(`/v1/contracts/${b.id}/change-requests`, { operations: [{ op: 'update', milestoneId: b.ms[0], changes: { amount: 4242 } }] });
    expect(cr.status).toBe(201);
    add(cr.body.id);
    const cm = await mk('company_managed', 3);
    expect((await contractor.api.post(`/v1/milestones/${cm.ms[0]}/submit`, {})).status).toBe(200);
    expect((await client.api.post(`/v1/milestones/${cm.ms[0]}/approve`)).status).toBe(200);
    const pays = await client.api.get('/v1/payments');
    (pays.body.data as { id: string }[]).forEach((p) => add(p.id));
    // Files whose names no HTTP header can carry as they are (their downloads broke once).
    for (const name of ['evidence.txt', 'report-日本語.txt', 'budget 💸.txt', 'del\u007f.txt', 'quote"semi;colon.txt']) {
      const form = new FormData();
      form.append('file', new Blob(['evidence text']), name);
      const up = await fetch(`${s.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${client.token}` }, body: form });
      expect(up.status).toBe(201);
      add(((await up.json()) as { id: string }).id);
    }

    // ---- the routes, from the server's own OpenAPI document ----
    const doc = (await s.admin.get('/openapi.json')).body;
    const resolve = (x: Schema | undefined): Schema | undefined => (x?.$ref ? resolve(doc.components.schemas[x.$ref.split('/').pop()]) : x);
    const ops: Op[] = [];
    for (const [path, byMethod] of Object.entries<Schema>(doc.paths)) {
      for (const [method, op] of Object.entries<Schema>(byMethod)) {
        // An event stream answers 200 and never ends: it has its own tests (live-events.test.ts).
        if (op.responses?.['200']?.content?.['text/event-stream']) continue;
        const body = resolve(op.requestBody?.content?.['application/json']?.schema);
        ops.push({ method: method.toUpperCase(), path, params: op.parameters ?? [], body, hasBody: Boolean(op.requestBody) });
      }
    }
    expect(ops.length).toBeGreaterThan(40);

    // ---- generators ----
    const idFor = (pattern: string | undefined, g: Prng): string => {
      const m = /^\^([a-z]+)_/.exec(pattern ?? '');
      const pool = m ? ids[m[1]!] : undefined;
      if (pool?.length) return g.pick(pool);
      return m ? `${m[1]}_${'0'.repeat(26)}` : 'x';
    };
    const randomText = (g: Prng, max = 40) => Array.from({ length: g.int(1, max) }, () => String.fromCharCode(g.int(32, 126))).join('');
    function valid(schema: Schema | undefined, g: Prng, key = '', depth = 0): unknown {
      schema = resolve(schema);
      if (!schema || depth > 6) return null;
      if (schema.anyOf || schema.oneOf) {
        const alts = (schema.anyOf ?? schema.oneOf) as Schema[];
        const nonNull = alts.filter((x) => resolve(x)?.type !== 'null');
        return valid(g.pick(nonNull.length && g.bool(0.9) ? nonNull : alts), g, key, depth + 1);
      }
      if (schema.const !== undefined) return schema.const;
      if (schema.enum) return g.pick(schema.enum);
      const type = Array.isArray(schema.type) ? g.pick(schema.type.filter((t: string) => t !== 'null')) : schema.type;
      switch (type) {
        case 'object': {
          const out: Record<string, unknown> = {};
          for (const [k, sub] of Object.entries<Schema>(schema.properties ?? {})) {
            if ((schema.required ?? []).includes(k) || g.bool(0.5)) out[k] = valid(sub, g, k, depth + 1);
          }
          if (!schema.properties && schema.additionalProperties) out[randomText(g, 5)] = valid(schema.additionalProperties, g, '', depth + 1);
          return out;
        }
        case 'array': {
          const n = g.int(schema.minItems ?? 0, Math.min(schema.maxItems ?? 3, 3));
          return Array.from({ length: n }, () => valid(schema!.items, g, key, depth + 1));
        }
        case 'integer':
        case 'number': {
          const lo = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 0);
          const hi = Math.min(schema.maximum ?? 1_000_000, lo + (/amount|refund|release/i.test(key) ? 200_000 : 1_000));
          return g.int(lo, hi);
        }
        case 'boolean':
          return g.bool();
        case 'null':
          return null;
        case 'string': {
          const p: string | undefined = schema.pattern;
          if (p && /^\^[a-z]+_/.test(p)) return idFor(p, g);
          if (p?.includes('\\d{4}-\\d{2}-\\d{2}')) return inDays(g.int(-5, 400));
          if (p?.startsWith('^pm_')) return g.pick(['pm_card_ok', 'pm_card_ok', 'pm_card_declined', 'pm_card_fails_later', 'pm_unknown']);
          if (p?.includes('[A-Z]{3}')) return g.pick(['USD', 'EUR', 'JPY', 'BHD', 'XXX']);
          if (schema.format === 'email') return `fuzz-${g.int(0, 1e9)}@example.com`;
          if (schema.format === 'uri') return 'https://hooks.example.com/tranche';
          if (schema.format === 'date-time') return new Date(Date.now() + g.int(-10, 400) * 86_400_000).toISOString();
          const min = schema.minLength ?? 1;
          const text = randomText(g, Math.min(schema.maxLength ?? 40, 40));
          return text.length >= min ? text : text.padEnd(min, 'x');
        }
        default:
          return g.pick([1, 'x', true, null, {}]);
      }
    }
    const weird = (g: Prng): unknown =>
      g.pick<() => unknown>([
        () => g.pick(NASTY),
        () => g.pick(NUMBERS),
        () => null,
        () => [],
        () => [g.pick(NASTY), 1, null],
        () => ({}),
        () => ({ nested: { deeper: [g.pick(NASTY)] } }),
        () => true,
        () => 'x'.repeat(g.pick([201, 2_001, 5_001, 60_000])),
        () => '💸'.repeat(g.int(1, 3_000)),
        () => String(g.pick(NUMBERS)),
        () => g.pick(Object.values(ids).flat()),
      ])();
    /** Every string of the value with an unpaired UTF-16 surrogate in it (JSON spells it `\ud800`). */
    const LONE = ['\ud800', '\udbff', '\udc00', '\udfff'];
    function withSurrogates(v: unknown, g: Prng): unknown {
      if (typeof v === 'string') return g.pick([(x: string) => x + g.pick(LONE), (x: string) => g.pick(LONE) + x, (x: string) => x.slice(0, 1) + g.pick(LONE) + x.slice(1)])(v);
      if (Array.isArray(v)) return v.map((x) => withSurrogates(x, g));
      if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withSurrogates(x, g)]));
      return v;
    }
    /** Replaces, removes or adds one field somewhere in the value. */
    function mutate(v: unknown, g: Prng, depth = 0): unknown {
      if (v && typeof v === 'object' && depth < 4 && g.bool(0.8)) {
        const keys = Object.keys(v);
        if (Array.isArray(v)) {
          if (!v.length || g.bool(0.2)) return g.bool() ? [...v, weird(g)] : Array.from({ length: g.pick([101, 501]) }, () => v[0] ?? 1);
          const i = g.int(0, v.length - 1);
          return v.map((x, j) => (j === i ? mutate(x, g, depth + 1) : x));
        }
        const choice = g.int(0, 3);
        if (choice === 0 && keys.length) {
          const drop = g.pick(keys);
          return Object.fromEntries(Object.entries(v).filter(([k]) => k !== drop));
        }
        if (choice === 1) return { ...v, [g.pick(['unknown', 'isAdmin', 'status', 'platformId', 'id', '__proto__x', 'amount', '💸'])]: weird(g) };
        if (keys.length) {
          const k = g.pick(keys);
          return { ...v, [k]: mutate((v as Record<string, unknown>)[k], g, depth + 1) };
        }
      }
      return weird(g);
    }
    const garbageId = (g: Prng) =>
      g.pick([
        () => 'nope',
        () => `ms_${'z'.repeat(26)}`,
        () => `ctr_${'0'.repeat(26)}`,
        () => {
          try {
            return encodeURIComponent(g.pick(NASTY) || 'x');
          } catch {
            return '%ED%A0%80'; // a lone surrogate cannot be encoded: send invalid UTF-8 instead
          }
        },
        () => g.pick(['%ff%fe', '%', '%zz', '%C0%AF']),
        () => 'x'.repeat(g.pick([27, 300, 5_000])),
        () => encodeURIComponent('💸🔥'),
        () => '%00',
        () => '..%2F..%2Fadmin',
        () => g.pick(Object.values(ids).flat()).toUpperCase(),
        () => g.pick(Object.values(ids).flat()) + 'x',
      ])();

    type Caller = { name: string; token: string | null; headers: Record<string, string> };
    const callers: Caller[] = [
      { name: 'client', token: client.token, headers: {} },
      { name: 'contractor', token: contractor.token, headers: {} },
      { name: 'stranger', token: stranger.token, headers: {} },
      { name: 'foreign', token: foreign.token, headers: {} },
      { name: 'admin', token: s.adminToken, headers: {} },
      { name: 'admin-as-client', token: s.adminToken, headers: { 'acting-user': client.id } },
      { name: 'admin-as-contractor', token: s.adminToken, headers: { 'acting-user': contractor.id } },
      { name: 'admin-as-garbage', token: s.adminToken, headers: { 'acting-user': 'usr_nobody' } },
      { name: 'admin-as-foreign', token: s.adminToken, headers: { 'acting-user': foreign.userId } },
      { name: 'anonymous', token: null, headers: {} },
      { name: 'bad-token', token: 'trk_not_a_real_token_at_all_000000', headers: {} },
      { name: 'user-with-acting', token: client.token, headers: { 'acting-user': contractor.id } },
    ];

    type Req = { op: string; method: string; url: string; headers: Record<string, string>; body?: string | FormData; note: string };
    function generate(i: number): Req {
      const g = prng(seed + i * 7919);
      // Every route first (so that each is exercised whatever the share), then at random.
      const op = i < ops.length ? ops[i]! : g.pick(ops);
      const caller = g.bool(0.7) ? g.pick(callers.slice(0, 2).concat(callers[5]!, callers[6]!)) : g.pick(callers);
      const notes: string[] = [caller.name];
      let url = op.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
        const p = op.params.find((x) => x.in === 'path' && x.name === name);
        if (g.bool(0.85)) return idFor(p?.schema?.pattern, g);
        notes.push('garbage path');
        return garbageId(g);
      });
      const query = op.params.filter((x) => x.in === 'query');
      if (query.length || g.bool(0.1)) {
        const qs = new URLSearchParams();
        for (const q of query) if (g.bool(0.5)) qs.set(q.name, String(g.bool(0.7) ? valid(q.schema, g, q.name) : weird(g)));
        if (g.bool(0.1)) qs.set(g.pick(['unknown', 'limit', 'cursor', 'role']), String(weird(g)));
        if (g.bool(0.1)) qs.set('cursor', Buffer.from(g.pick(['x', `ms_${'a'.repeat(26)}`, g.pick(NASTY)])).toString('base64url'));
        const text = qs.toString();
        if (text) url += `?${text}`;
      }
      const headers: Record<string, string> = { ...caller.headers };
      if (caller.token) headers.authorization = `Bearer ${caller.token}`;
      if (g.bool(0.15)) headers['idempotency-key'] = g.pick([`fz-${g.int(0, 50)}`, `fz-${i}`, 'x'.repeat(300), 'has space', '']);
      if (g.bool(0.05)) headers['if-match'] = g.pick(['1', '"2"', 'W/"3"', 'abc', '99999999999', '-1']);
      if (g.bool(0.03)) headers['acting-user'] = g.pick([client.id, 'usr_x', '', 'x'.repeat(500)]);
      let body: string | FormData | undefined;
      if (op.path === '/v1/files' && g.bool(0.5)) {
        const f = new FormData();
        const bytes = g.pick([new Uint8Array([0x25, 0x50, 0x44, 0x46, 0x2d]), new Uint8Array([0, 1, 2, 3, 255]), new TextEncoder().encode(g.pick(NASTY) || 'x'), new Uint8Array(0)]);
        f.append(g.pick(['file', 'other']), new Blob([bytes]), g.pick(['a.pdf', '../../x', '💸.txt', '', 'report-日本語.txt', 'del\u007f.txt', 'nul\u0000.txt', 'lone\ud800.txt']));
        body = f;
        notes.push('multipart');
      } else if (op.hasBody || g.bool(0.1)) {
        const mode = g.next();
        if (mode < 0.3) {
          body = JSON.stringify(valid(op.body, g));
          notes.push('valid body');
        } else if (mode < 0.35) {
          body = JSON.stringify(withSurrogates(valid(op.body, g), g));
          notes.push('lone surrogates');
        } else if (mode < 0.85) {
          body = JSON.stringify(mutate(valid(op.body, g), g));
          notes.push('mutated body');
        } else if (mode < 0.9) {
          body = g.pick(['{', '{"a":', '[1,2', 'nul', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}', '"str"', '1e999', '[' .repeat(5_000), DEEP_ARRAYS_NUL, DEEP_OBJECTS_NUL]);
          notes.push('broken JSON');
        } else if (mode < 0.95) {
          body = JSON.stringify({ big: 'x'.repeat(300 * 1024) });
          notes.push('too large');
        } else {
          body = JSON.stringify(valid(op.body, g));
          headers['content-type'] = g.pick(['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'multipart/form-data']);
          notes.push('wrong media type');
        }
        if (typeof body === 'string') headers['content-type'] ??= 'application/json';
      }
      return { op: `${op.method} ${op.path}`, method: op.method, url, headers, body, note: notes.join(', ') };
    }

    const fives: string[] = [];
    const notProblem: string[] = [];
    const statuses = new Map<number, number>();
    const perRoute = new Map<string, number>();
    let clientErrors = 0;
    const t0 = Date.now();
    // Workers draw request numbers until `share` requests got an HTTP answer (the few that
    // fetch refuses to send do not count).
    let nextIndex = 0;
    let answered = 0;
    await mapLimit(Array.from({ length: CONCURRENCY }, (_, w) => w), CONCURRENCY, async () => {
      while (answered + fives.length < share) {
        const i = nextIndex++;
        const req = generate(i);
        let res: Response;
        try {
          res = await fetch(s.url + req.url, { method: req.method, headers: req.headers, body: req.body, signal: AbortSignal.timeout(60_000) });
        } catch (e) {
          // fetch itself refuses some generated requests (e.g. a header it cannot send); a hang
          // or a dropped connection is a failure.
          const err = e as Error & { cause?: { code?: string } };
          if (err.name === 'TimeoutError' || err.cause?.code === 'UND_ERR_SOCKET' || err.cause?.code === 'ECONNRESET') {
            fives.push(`NO ANSWER ${req.method} ${req.url} (${req.note}): ${err.message}`);
          } else clientErrors++;
          continue;
        }
        answered++;
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        perRoute.set(req.op, (perRoute.get(req.op) ?? 0) + 1);
        const show = () =>
          `${res.status} ← ${req.method} ${req.url.slice(0, 300)} [${req.note}] headers=${JSON.stringify({ ...req.headers, authorization: req.headers.authorization ? 'Bearer …' : undefined })} body=${typeof req.body === 'string' ? req.body.slice(0, 600) : req.body ? '(multipart)' : '(none)'} → ${text.slice(0, 400)}`;
        if (res.status >= 500) fives.push(show());
        else if (res.status >= 400 && res.status !== 431) {
          // (431 comes from Node's HTTP parser before the application sees the request.)
          let code: unknown;
          try {
            code = JSON.parse(text).code;
          } catch {
            /* not JSON */
          }
          if (!String(res.headers.get('content-type')).startsWith('application/problem+json') || typeof code !== 'string') notProblem.push(show());
        }
      }
    });
    const elapsed = Date.now() - t0;
    process.stdout.write(
      `[fuzz/${engine}] ${answered} answered requests (${clientErrors} more refused by fetch itself) over ${ops.length} routes in ${elapsed} ms; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((x, y) => x[0] - y[0])))}\n`,
    );
    if (fives.length) process.stdout.write(`[fuzz/${engine}] FIRST 5xx:\n${fives.slice(0, 10).join('\n')}\n`);
    if (notProblem.length) process.stdout.write(`[fuzz/${engine}] 4xx that are not problem+json:\n${notProblem.slice(0, 10).join('\n')}\n`);

    expect(fives.slice(0, 10)).toEqual([]);
    expect(notProblem.slice(0, 10)).toEqual([]);
    // Every documented route was exercised.
    expect(ops.map((o) => `${o.method} ${o.path}`).filter((k) => !perRoute.has(k))).toEqual([]);
    expect(answered + fives.length).toBeGreaterThanOrEqual(share);
    await expectLedgerClean(s);
  }, 300_000);
});
