/**
 * Makes an embedded database template (src/db/embedded.ts): `node embedded-template.js <folder>`
 * creates `<folder>/pgdata` with PGlite's initdb, applies every migration and shuts down cleanly.
 * Run as a child process so that the memory initdb leaves behind is not the server's.
 */
import { openDb } from './client.ts';
import { migrate } from './migrate.ts';

const folder = process.argv[2];
if (!folder) throw new Error('usage: embedded-template <folder>');
const db = await openDb({ dataDir: folder, fromTemplate: false });
await migrate(db);
await db.close();
