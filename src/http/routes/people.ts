import { z } from 'zod';
import { partyProfiles } from '../../db/repos/profiles.ts';
import { iso, isoReq } from '../../db/repos/rows.ts';
import { notFound } from '../../domain/errors.ts';
import { isPlatformAdmin } from '../../usecases/context.ts';
import { listReviews, postReview, type ReviewRow } from '../../usecases/reviews.ts';
import type { RouteContext } from '../app.ts';
import { exampleId, IdParams, PartyProfileSchema, Timestamp } from '../schemas.ts';
import type { V1 } from './types.ts';

const ReviewSchema = z
  .object({
    id: z.string().describe('The review'),
    contractId: z.string().describe('The closed contract it is about'),
    authorId: z.string().describe('The user who wrote it (for an organisation client: the member)'),
    authorRole: z.enum(['client', 'contractor']).describe('The author’s side of the contract'),
    subjectId: z.string().describe('The party rated: the other side (a user, or the client organisation)'),
    rating: z.number().int().min(1).max(5).describe('1 (poor) to 5 (excellent)'),
    comment: z.string().nullable().describe('What the author wrote; null when nothing'),
    visible: z.boolean().describe('Whether the other party can read it: once both reviews are in, or 14 days after the close'),
    visibleAt: Timestamp.nullable().describe('When it became visible; null while hidden'),
    createdAt: Timestamp.describe('When it was left'),
  })
  .meta({
    id: 'Review',
    description: 'A rating one party left the other when the contract closed; hidden from the other party until both are in or 14 days passed, and never changed',
    example: {
      id: exampleId('review'), contractId: exampleId('contract'), authorId: exampleId('user', 1), authorRole: 'client', subjectId: exampleId('user', 2),
      rating: 5, comment: 'Clear, on time, great work', visible: false, visibleAt: null, createdAt: '2026-11-22T10:00:00.000Z',
    },
  });

const presentReview = (r: ReviewRow) => ({
  id: r.id,
  contractId: r.contract_id,
  authorId: r.author_id,
  authorRole: r.author_role,
  subjectId: r.subject_id,
  rating: r.rating,
  comment: r.comment,
  visible: r.visible_at !== null,
  visibleAt: iso(r.visible_at),
  createdAt: isoReq(r.created_at),
});

export function peopleRoutes(app: V1, { runner }: RouteContext) {
  app.get(
    '/users/:id/profile',
    {
      schema: {
        tags: ['Identity'],
        summary: 'The public profile of someone you share a contract with (yourself too): name, member since, rating; 404 for anyone else',
        params: IdParams('user'),
        response: { 200: PartyProfileSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async ({ tx, principal }) => {
        const me = principal.userId;
        const target = req.params.id;
        if (!isPlatformAdmin(principal) && me !== target) {
          // The caller's sides: themself and the organisations they are a member of.
          const sides = [me!, ...Object.keys(principal.orgs ?? {})];
          const [shared] = await tx.query(
            `SELECT 1 FROM contracts WHERE platform_id = $1
               AND ((client_id = ANY($2::text[]) AND contractor_id = $3) OR (contractor_id = ANY($2::text[]) AND client_id = $3)) LIMIT 1`,
            [principal.platformId, sides, target],
          );
          if (!shared) throw notFound('user');
        }
        const [inPlatform] = await tx.query('SELECT 1 FROM users WHERE platform_id = $1 AND id = $2', [principal.platformId, target]);
        const profile = inPlatform ? (await partyProfiles(tx, [target])).get(target) : undefined;
        if (!profile) throw notFound('user');
        return { status: 200, body: profile };
      }),
  );

  const tags = ['Reviews'];
  app.post(
    '/contracts/:id/reviews',
    {
      schema: {
        tags,
        summary: 'Once the contract is closed, rate the other party (once; it cannot be changed)',
        description:
          'The review stays hidden from the other party until they leave theirs, or 14 days after the close, whichever comes first. ' +
          '409 `invalid_state` before the close, 409 `review_exists` for a second review by the same side.',
        params: IdParams('contract'),
        body: z
          .object({
            rating: z.number().int('must be a whole number from 1 to 5').min(1, 'must be from 1 to 5').max(5, 'must be from 1 to 5').describe('1 (poor) to 5 (excellent)'),
            comment: z.string().trim().min(1).max(2000).optional().describe('What went well or not (up to 2,000 characters)'),
          })
          .strict()
          .meta({ example: { rating: 5, comment: 'Clear, on time, great work' } }),
        response: { 201: ReviewSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const r = await postReview(ctx, req.params.id, req.body);
        return { status: 201, body: presentReview(r.review) };
      }),
  );

  app.get(
    '/contracts/:id/reviews',
    {
      schema: {
        tags,
        summary: 'The contract’s reviews you may read: yours, and the other party’s once visible',
        params: IdParams('contract'),
        response: {
          200: z.object({
            data: z.array(ReviewSchema).describe('Oldest first'),
            revealsAt: Timestamp.nullable().describe('When hidden reviews become visible at the latest (14 days after the close); null while the contract is not closed'),
          }),
        },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const r = await listReviews(ctx, req.params.id);
        return { status: 200, body: { data: r.reviews.map(presentReview), revealsAt: iso(r.revealsAt) } };
      }),
  );
}
