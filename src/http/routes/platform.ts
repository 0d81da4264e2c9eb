import { z } from 'zod';
import { MAX_AMOUNT } from '../../domain/money.ts';
import { AdminEmail } from '../../domain/platform-settings.ts';
import { forbidden } from '../../domain/errors.ts';
import { PRESET_NAMES } from '../../domain/policy.ts';
import { isPlatformAdmin } from '../../usecases/context.ts';
import { loadPlatform, updatePlatform, type PlatformView } from '../../usecases/platform-settings.ts';
import type { RouteContext } from '../app.ts';
import { ExpectedVersion } from '../schemas.ts';
import type { V1 } from './types.ts';
import { expectedVersion } from './versions.ts';

const Bps = z.number().int().min(0).max(5000).describe('basis points (100 = 1 %)');
const Fees = z
  .object({ clientBps: Bps.describe('Fee charged to the client on top of each payment, in basis points (100 = 1 %)'), contractorBps: Bps.describe('Fee kept from each payment to the contractor, in basis points (100 = 1 %)') })
  .strict();
const MinimumAmounts = z
  .record(z.string().regex(/^[A-Z]{3}$/), z.number().int().min(1).max(MAX_AMOUNT))
  .describe('smallest escrow deposit per currency, in minor units; added to every new contract’s policy');

const PlatformSchema = z
  .object({
    id: z.string().describe('The platform’s id'),
    name: z.string().describe('The platform’s name, shown in emails and the web app'),
    fees: Fees.describe('platform fees copied into every new contract (a party can never set them)'),
    defaultPreset: z.enum(PRESET_NAMES).describe('the preset of a proposal that names none'),
    timeZone: z.string().describe('IANA time zone of weekly schedules'),
    minimumAmounts: MinimumAmounts,
    adminEmail: AdminEmail.nullable().describe('Where the platform’s operator is emailed about the platform itself (a webhook endpoint disabled after three days of failures); null: nobody is emailed'),
    version: z.number().int().describe('Incremented by every change; send it as If-Match or expectedVersion to change the settings safely'),
    updatedAt: z.string().meta({ format: 'date-time' }).describe('When the settings last changed'),
  })
  .meta({
    id: 'Platform',
    description: 'The platform’s settings, which its admin decides for every contract of the platform.',
    example: { id: 'plt_01jd8m3n4p5q6r7s8t9v0w1x2y', name: 'Default platform', fees: { clientBps: 0, contractorBps: 1000 }, defaultPreset: 'contractor_creates', timeZone: 'UTC', minimumAmounts: { USD: 500 }, adminEmail: 'ops@example.com', version: 2, updatedAt: '2026-11-22T10:00:00.000Z' },
  });

const present = (p: PlatformView) => ({ id: p.id, name: p.name, ...p.settings, version: p.version, updatedAt: p.updatedAt.toISOString() });

export function platformRoutes(app: V1, { runner }: RouteContext) {
  const tags = ['Admin'];
  app.get('/admin/platform', { schema: { tags, summary: 'The platform’s settings (admin)', response: { 200: PlatformSchema } } }, (req, reply) =>
    runner.run(req, reply, async ({ tx, principal }) => {
      if (!isPlatformAdmin(principal)) throw forbidden('only the platform admin sees platform settings');
      return { status: 200, body: present(await loadPlatform(tx, principal.platformId)) };
    }),
  );
  app.patch(
    '/admin/platform',
    {
      schema: {
        tags,
        summary: 'Change the platform’s settings (admin); they apply to contracts proposed from now on',
        body: z
          .object({
            name: z.string().trim().min(1).max(200).optional().describe('The platform’s name'),
            fees: Fees.partial().optional().describe('Platform fees for contracts proposed from now on; a fee left out keeps its value'),
            defaultPreset: z.enum(PRESET_NAMES).optional().describe('The preset of a proposal that names none'),
            timeZone: z.string().min(1).max(64).optional().describe('IANA time zone of weekly schedules (hourly invoices on Monday, payment on Wednesday)'),
            minimumAmounts: MinimumAmounts.optional(),
            adminEmail: AdminEmail.nullable().optional().describe('Where the platform’s operator is emailed about the platform itself; null stops those emails'),
            ...ExpectedVersion,
          })
          .strict()
          .meta({ example: { fees: { contractorBps: 1000 }, defaultPreset: 'contractor_creates', minimumAmounts: { USD: 500 } } }),
        response: { 200: PlatformSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const { expectedVersion: v, ...patch } = req.body;
        return { status: 200, body: present(await updatePlatform(ctx, patch, expectedVersion(req, v))) };
      }),
  );
}
