import type { Db } from './db/client.ts';
import { findUserByEmail } from './db/repos/users.ts';
import type { Clock } from './domain/clock.ts';
import type { PaymentProvider } from './payments/provider.ts';
import { addMilestone } from './usecases/add-milestone.ts';
import { approveMilestone } from './usecases/approve-milestone.ts';
import type { UseCaseCtx } from './usecases/context.ts';
import { createContract } from './usecases/create-contract.ts';
import { createToken, createUser } from './usecases/create-user.ts';
import { fundMilestone } from './usecases/fund-milestone.ts';
import { awaitOperations } from './usecases/payments/perform-operation.ts';
import { respondToContract } from './usecases/respond-to-contract.ts';
import { submitMilestone } from './usecases/submit-milestone.ts';

export const DEMO_PASSWORD = 'tranche-demo-password';
export const DEMO_CLIENT = 'client@demo.tranche.test';
export const DEMO_CONTRACTOR = 'contractor@demo.tranche.test';

const dateIn = (now: Date, days: number) => new Date(now.getTime() + days * 86_400_000).toISOString().slice(0, 10);

/**
 * Demo data to look at: a client and a contractor (with passwords and API tokens) and three
 * contracts in different states, made through the same use cases as the API. Does nothing if
 * the demo client already exists.
 */
export async function seedDemo(db: Db, platformId: string, clock: Clock, provider: PaymentProvider) {
  const now = clock.now();
  const existing = await findUserByEmail(db, platformId, DEMO_CLIENT);
  if (existing) return { created: false as const };
  const deps = { clock, provider };
  const as = (userId: string | null) => ({ platformId, userId, viaAdmin: false, key: `seed:${userId}` });
  const operations: string[] = [];
  const seeded = await db.tx(async (tx) => {
    operations.length = 0;
    const client = await createUser(tx, platformId, { email: DEMO_CLIENT, name: 'Casey Client', password: DEMO_PASSWORD }, now);
    const contractor = await createUser(tx, platformId, { email: DEMO_CONTRACTOR, name: 'Dana Contractor', password: DEMO_PASSWORD }, now);
    await tx.query("UPDATE users SET default_payment_method = 'pm_card_ok' WHERE id = $1", [client.id]);
    const clientToken = await createToken(tx, platformId, client.id, 'demo', now);
    const contractorToken = await createToken(tx, platformId, contractor.id, 'demo', now);
    const c: UseCaseCtx = { tx, principal: as(client.id), deps, now, operations };
    const k: UseCaseCtx = { tx, principal: as(contractor.id), deps, now, operations };

    // 1. Seed 001: sequential escrow, one milestone funded and submitted, the next one upcoming.
    const app = await createContract(c, {
      title: 'Mobile app redesign',
      clientId: client.id,
      contractorId: contractor.id,
      type: 'fixed',
      currency: 'USD',
      policy: 'sequential_escrow',
      milestones: [
        { title: 'Wireframes', amount: 120000, dueDate: dateIn(now, 10), description: 'Low-fidelity wireframes for every screen' },
        { title: 'Visual design', amount: 250000, dueDate: dateIn(now, 24) },
        { title: 'Design handoff', amount: 80000, dueDate: dateIn(now, 30) },
      ],
    });
    await respondToContract(k, app.id, 'activate');
    const [first] = await tx.query<{ id: string }>('SELECT id FROM milestones WHERE contract_id = $1 ORDER BY position LIMIT 1', [app.id]);
    // Funded after commit (the card is charged outside the transaction), submitted below.
    await fundMilestone(c, first!.id, {});

    // 2. Seed 000: company-managed, no escrow: approved work waits as a draft payment.
    const ops = await createContract(c, { title: 'Monthly content writing', clientId: client.id, contractorId: contractor.id, type: 'fixed', currency: 'EUR', policy: 'company_managed' });
    await respondToContract(k, ops.id, 'activate');
    const post = await addMilestone(c, ops.id, { title: 'Four blog posts', amount: 60000, dueDate: dateIn(now, 7) });
    await addMilestone(c, ops.id, { title: 'Newsletter', amount: 15000, dueDate: dateIn(now, 14) });
    await submitMilestone(k, post.milestone.id, { note: 'Drafts attached in the doc.' });
    await approveMilestone(c, post.milestone.id);

    // 3. Seed 002, contractor creates: a proposal waiting for the client.
    await createContract(k, {
      title: 'Data pipeline audit',
      clientId: client.id,
      contractorId: contractor.id,
      type: 'fixed',
      currency: 'JPY',
      policy: 'contractor_creates',
      milestones: [{ title: 'Audit report', amount: 300000, dueDate: dateIn(now, 21) }],
    });
    return { created: true as const, client, contractor, clientToken: clientToken.token, contractorToken: contractorToken.token, funded: first!.id };
  });
  await awaitOperations(db, deps, operations, false);
  const { funded, ...out } = seeded;
  await db.tx((tx) => submitMilestone({ tx, principal: as(out.contractor.id), deps, now }, funded, { note: 'Wireframes are in the shared folder.' }));
  return out;
}
