/**
 * Prints the functions with the most self time in a V8 .cpuprofile (from `node --cpu-prof`),
 * and the same time grouped by where the code lives (a package, our src/, node internals).
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile> [top=25]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type CallFrame = { functionName: string; url: string; lineNumber: number; columnNumber: number };
type ProfileNode = { id: number; callFrame: CallFrame; hitCount?: number; children?: number[] };
type Profile = { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] };

export type TopFrame = { fn: string; where: string; selfMs: number; selfPct: number };

/** Where our own code starts in a frame's URL: src/ (through tsx) or dist/ (the compiled server the bench runs); -1 if elsewhere. */
function ourCode(url: string): number {
  const src = url.indexOf('/src/');
  return src >= 0 ? src : url.indexOf('/dist/');
}

function shortUrl(url: string): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const src = ourCode(url);
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, '');
}

/** Where the code lives: a package name, "src/<dir>", "node:internal" or a V8 pseudo-frame. */
function area(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native/V8)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = ourCode(url);
  if (src >= 0) return url.slice(src + 1).split('/').slice(0, 2).join('/');
  if (url.startsWith('node:')) return 'node:internal';
  return url;
}

function selfTimes(p: Profile): Map<number, number> {
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0; // a sample's time is the gap to the next one
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt);
  }
  return self;
}

export function summarizeProfile(file: string, top = 25): TopFrame[] {
  return analyze(JSON.parse(readFileSync(file, 'utf8')) as Profile, top).frames;
}

export function analyze(p: Profile, top = 25) {
  const self = selfTimes(p);
  const total = [...self.values()].reduce((a, b) => a + b, 0) || 1;
  const byFrame = new Map<string, { fn: string; where: string; us: number }>();
  const byArea = new Map<string, number>();
  let idle = 0;
  for (const n of p.nodes) {
    const us = self.get(n.id) ?? 0;
    if (!us) continue;
    const cf = n.callFrame;
    if (cf.functionName === '(idle)') idle += us;
    const fn = cf.functionName || '(anonymous)';
    const where = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : '';
    const key = `${fn}@${where}`;
    const e = byFrame.get(key) ?? { fn, where, us: 0 };
    e.us += us;
    byFrame.set(key, e);
    const a = area(cf.url, fn);
    byArea.set(a, (byArea.get(a) ?? 0) + us);
  }
  const pct = (us: number) => Math.round((us / total) * 1000) / 10;
  const frames: TopFrame[] = [...byFrame.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => ({ fn: e.fn, where: e.where, selfMs: Math.round(e.us / 100) / 10, selfPct: pct(e.us) }));
  const areas = [...byArea.entries()].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ area: name, selfMs: Math.round(us / 1000), selfPct: pct(us) }));
  return { totalMs: Math.round(total / 1000), idleMs: Math.round(idle / 1000), frames, areas };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  const top = Number(process.argv[3] ?? 25);
  const r = analyze(JSON.parse(readFileSync(file, 'utf8')) as Profile, top);
  const busy = r.totalMs - r.idleMs;
  process.stdout.write(`${file}\n  sampled ${r.totalMs} ms, idle ${r.idleMs} ms, busy ${busy} ms\n\n  top ${top} functions by self time (% of all samples):\n`);
  for (const f of r.frames) process.stdout.write(`  ${f.selfPct.toFixed(1).padStart(5)}%  ${String(f.selfMs).padStart(8)} ms  ${f.fn}  ${f.where}\n`);
  process.stdout.write('\n  self time by area:\n');
  for (const a of r.areas.slice(0, 20)) process.stdout.write(`  ${a.selfPct.toFixed(1).padStart(5)}%  ${String(a.selfMs).padStart(8)} ms  ${a.area}\n`);
}
