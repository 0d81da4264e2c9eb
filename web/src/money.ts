/** Amounts are integer minor units; the currency's own decimals (USD 2, JPY 0, BHD 3) come from Intl. */
const formatters = new Map<string, Intl.NumberFormat>();

function formatter(currency: string): Intl.NumberFormat {
  let f = formatters.get(currency);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { style: 'currency', currency });
    formatters.set(currency, f);
  }
  return f;
}

export function decimals(currency: string): number {
  return formatter(currency).resolvedOptions().maximumFractionDigits ?? 2;
}

/** 123456 USD → "$1,234.56"; 300000 JPY → "¥300,000"; 1500 BHD → "BHD 1.500". Never a float in between. */
export function formatMoney(minor: number, currency: string): string {
  const d = decimals(currency);
  const neg = minor < 0;
  const abs = BigInt(Math.abs(minor));
  const scale = 10n ** BigInt(d);
  const whole = abs / scale;
  const frac = (abs % scale).toString().padStart(d, '0');
  // Format the exact decimal string: Intl accepts a numeric string without float rounding.
  const text = d > 0 ? `${whole}.${frac}` : `${whole}`;
  const f = formatter(currency) as Intl.NumberFormat & { format(v: string): string };
  return f.format(((neg ? '-' : '') + text) as unknown as number);
}

/** "12.50" in USD → 1250; rejects more decimals than the currency has. Returns null when not a valid amount. */
export function parseMoney(input: string, currency: string): number | null {
  const d = decimals(currency);
  const s = input.trim().replace(/,/g, '');
  const m = /^(\d+)(?:\.(\d*))?$/.exec(s);
  if (!m) return null;
  const frac = m[2] ?? '';
  if (frac.length > d) return null;
  const minor = BigInt(m[1]!) * 10n ** BigInt(d) + BigInt(frac.padEnd(d, '0') || '0');
  if (minor > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return Number(minor);
}

/** The platform's fee on an amount, as the server computes it (src/domain/money.ts feeOf): basis points, rounded down. */
export function feeOf(amount: number, bps: number): number {
  return Number((BigInt(amount) * BigInt(bps)) / 10_000n);
}
