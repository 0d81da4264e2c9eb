import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DOMAIN_PROBLEMS, documentProblems, problemCodesFor } from '../../src/http/problems.ts';
import { undescribed } from '../../scripts/undescribed.ts';

describe('problem codes of an operation', () => {
  it('derives the codes of the route’s kind and adds those of what it does', () => {
    expect(problemCodesFor({ method: 'GET', url: '/v1/me', operationId: 'getMe', isPublic: false })).toEqual(['validation_failed', 'malformed_request', 'unauthenticated', 'forbidden']);
    const fund = problemCodesFor({ method: 'POST', url: '/v1/milestones/:id/fund', operationId: 'fundMilestone', isPublic: false });
    for (const c of ['not_found', 'csrf_refused', 'idempotency_key_reused', 'conflict', 'payment_declined', 'funding_pending'] as const) expect(fund).toContain(c);
    expect(problemCodesFor({ method: 'POST', url: '/v1/auth/login', operationId: 'loginAuth', isPublic: true })).not.toContain('forbidden');
  });

  it('documents one answer per status, naming its codes', () => {
    const doc = { paths: { '/v1/x/{id}': { post: { responses: { 200: {}, '4XX': {}, '5XX': { description: 'Default Response' } } } } } };
    const out = documentProblems(doc, () => ['not_found', 'invalid_state', 'conflict']);
    const responses = out.paths['/v1/x/{id}'].post.responses as Record<string, { description?: string }>;
    expect(Object.keys(responses).sort()).toEqual(['200', '404', '409', '5XX']);
    expect(responses['409']!.description).toBe('`invalid_state`: The resource is not in a state that allows this; `conflict`: The resource was changed by someone else');
    expect(responses['5XX']!.description).toContain('`service_unavailable`');
  });

  it('names only operations that exist (the served document, as committed in packages/client)', () => {
    const doc = JSON.parse(readFileSync(new URL('../../packages/client/openapi.json', import.meta.url), 'utf8')) as { paths: Record<string, Record<string, { operationId: string }>> };
    const ids = new Set(Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId)));
    expect(Object.keys(DOMAIN_PROBLEMS).filter((id) => !ids.has(id))).toEqual([]);
  });
});

describe('undescribed', () => {
  it('finds operations, parameters and fields without a description, nested too', () => {
    const doc = {
      components: { schemas: { Thing: { type: 'object', description: 'A thing', properties: { a: { type: 'string' }, b: { type: 'string', description: 'B' } } } } },
      paths: {
        '/v1/things': {
          get: {
            summary: 'Things',
            parameters: [{ in: 'query', name: 'q', schema: { type: 'string' } }],
            responses: { 200: { content: { 'application/json': { schema: { type: 'object', properties: { data: { type: 'array', description: 'Items', items: { $ref: '#/components/schemas/Thing' } }, next: { anyOf: [{ type: 'string', description: 'N' }, { type: 'null' }] }, deep: { type: 'object', description: 'D', properties: { x: { type: 'integer' } } } } } } } } },
          },
          post: { responses: {} },
        },
      },
    };
    expect(undescribed(doc)).toEqual([
      '#/components/schemas/Thing.a',
      'GET /v1/things: query parameter q',
      'GET /v1/things 200 (application/json).deep.x',
      'POST /v1/things: the operation',
    ]);
  });
});
