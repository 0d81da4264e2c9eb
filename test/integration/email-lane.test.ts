import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, liveContract, newParties, startTestServer, type TestServer } from '../support/harness.ts';

// Operator integration, item 4, for email: the background worker delivers emails in a lane of
// their own, so a mail server that accepts connections and never answers does not hold up a
// state job that is due now (here: settling a card charge that failed).
describe.each(engines())('email lane on %s', (engine) => {
  let smtp: Server;
  const sockets = new Set<Socket>();
  let accepted = 0;
  let s: TestServer;
  beforeAll(async () => {
    smtp = createServer((sock) => {
      accepted++;
      sockets.add(sock); // says nothing, ever: no SMTP greeting
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    const port = (smtp.address() as { port: number }).port;
    s = await startTestServer(engine, { SMTP_URL: `smtp://127.0.0.1:${port}`, TRANCHE_WORKER: '1' });
  });
  afterAll(async () => {
    await s?.stop();
    for (const sock of sockets) sock.destroy();
    await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()));
  });

  it('settles a failed charge while every email hangs on the mail server', async () => {
    const p = await newParties(s);
    expect((await p.client.api.put('/v1/me/payment-method', { paymentMethod: 'pm_card_fails_later' })).status).toBe(200);
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Pending card', amount: 5000 }]);
    const m = c.milestones[0].id;
    // The funding's emails are queued before its settle job; both are due at once.
    const funded = await p.client.api.post(`/v1/milestones/${m}/fund`);
    expect(funded.body).toMatchObject({ status: 'funded', fundingPending: true });
    const until = async (done: () => Promise<boolean>, ms: number) => {
      const end = Date.now() + ms;
      while (!(await done()) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    };
    // The fault happens: the email lane connects to the silent mail server and waits there…
    await until(async () => accepted > 0, 15_000);
    expect(accepted).toBeGreaterThan(0);
    const t0 = Date.now();
    let status = 'funded';
    await until(async () => (status = (await p.client.api.get(`/v1/milestones/${m}`)).body.status) === 'accepted', 15_000);
    const [pending] = await s.db.query<{ n: number }>("SELECT count(*)::int AS n FROM jobs WHERE kind = 'email' AND status = 'pending'");
    expect(pending!.n).toBeGreaterThan(0);
    // …and the settlement ran anyway, well before any mail timeout (nodemailer waits 30 s for a greeting).
    expect(status).toBe('accepted');
    expect(Date.now() - t0).toBeLessThan(15_000);
  });
});
