import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InProcessWorld, newStats, runBatch } from './model-impl.ts';
import { sequenceArb } from './model-ref.ts';

/*
 * Model-based test: random command sequences by random actors run against the SHIPPED use
 * cases in process on PGlite (model-impl.ts) and against a reference model written from
 * PRODUCT.md that shares no code with the product (model-ref.ts). After every step both must
 * agree on the outcome (or the refusal's code), the milestones, the payments with their fees,
 * the contract overview and every ledger account this contract moved; and the platform's
 * ledger check must be clean. Sequences run in batches side by side on one platform each.
 */

const BATCH = 25;
// Each step is a real transaction on PGlite plus a read of the contract page and its ledger:
// about 30 ms a sequence on this 2-core machine, so the 10,000 sequences take about five
// minutes (one of the suite's two workers; the rest of the suite shares the other).
// MODEL_SEQUENCES=500 makes a quick local run.
const SEQUENCES = Number(process.env.MODEL_SEQUENCES ?? 10_000);
const MAX_COMMANDS = 10;
// A fresh database every 1,000 sequences: the ledger check reads the whole database, so one
// that kept every sequence would make each step slower than the last.
const BATCHES_PER_DATABASE = 40;

describe('model: the shipped use cases against a reference model', () => {
  it(`${SEQUENCES} random sequences agree step by step and keep the ledger clean`, async () => {
    const stats = newStats();
    const started = Date.now();
    for (let left = Math.ceil(SEQUENCES / BATCH); left > 0; left -= BATCHES_PER_DATABASE) {
      const world = await InProcessWorld.open();
      try {
        await fc.assert(
          fc.asyncProperty(fc.array(sequenceArb(MAX_COMMANDS), { minLength: BATCH, maxLength: BATCH }), async (seqs) => {
            await runBatch(world, seqs, stats);
          }),
          // A failure names its sequence and every step of it; shrinking batches of contracts on a database would take minutes.
          { numRuns: Math.min(left, BATCHES_PER_DATABASE), endOnFailure: true },
        );
      } finally {
        await world.close();
      }
    }
    console.log(`model: ${stats.sequences} sequences, ${stats.steps} steps in ${((Date.now() - started) / 1000).toFixed(1)} s`, stats);
    // the generators reach the interesting places (not a vacuous pass)
    const per = stats.sequences / 10_000;
    expect(stats.sequences).toBeGreaterThanOrEqual(SEQUENCES);
    expect(stats.ok).toBeGreaterThan(15_000 * per);
    expect(stats.funded).toBeGreaterThan(2_000 * per);
    expect(stats.partial).toBeGreaterThan(500 * per);
    expect(stats.resolved).toBeGreaterThan(50 * per);
    expect(stats.refunded).toBeGreaterThan(300 * per);
    expect(stats.closed).toBeGreaterThan(100 * per);
  }, 1_800_000);
});
