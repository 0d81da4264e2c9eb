import pg from 'pg';

/**
 * Decides once per run whether the PostgreSQL half of the suite runs. Without a reachable
 * server it is skipped with a visible message, except under CI=true, where that is a failure.
 */
export default async function setup({ provide }: { provide: (k: string, v: unknown) => void }) {
  const url = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  let ok = false;
  let reason = '';
  try {
    await client.connect();
    await client.query('select 1');
    ok = true;
  } catch (e) {
    reason = (e as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
  if (!ok) {
    if (process.env.CI === 'true') throw new Error(`PostgreSQL at ${url} is not reachable (${reason}); CI requires it`);
    process.stderr.write(`\n⚠  PostgreSQL at ${url} is not reachable (${reason}): the PostgreSQL half of the suite is SKIPPED.\n\n`);
  }
  provide('postgresUrl', ok ? url : null);
}
