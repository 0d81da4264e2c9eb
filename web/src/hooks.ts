import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { decimals, formatMoney, parseMoney } from './money.ts';
import { ApiError } from './api.ts';
import { useNotice } from './notice.tsx';

/**
 * Loads data with `load`, exposes `reload`, reports failures in the alert region and sends
 * the person to the login form when the session has ended.
 */
export function useLoad<T>(load: () => Promise<T>, onUnauthenticated: () => void) {
  const [data, setData] = useState<T | null>(null);
  const [loading, setLoading] = useState(true);
  const notice = useNotice();
  const loadRef = useRef(load);
  loadRef.current = load;
  const reload = useCallback(async () => {
    setLoading(true);
    try {
      setData(await loadRef.current());
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) onUnauthenticated();
      else notice.error(e);
    } finally {
      setLoading(false);
    }
  }, [notice, onUnauthenticated]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, loading, reload };
}

/**
 * Money in one currency, for a form or a page: `const m = useMoney(contract.currency);
 * m.format(150000) → "$1,500.00"; m.parse("1,500") → 150000 | null; m.label("Amount") →
 * "Amount (USD)"; m.step → "0.01"`. Amounts stay integer minor units everywhere else.
 */
export function useMoney(currency: string) {
  return useMemo(() => {
    const d = decimals(currency);
    return {
      currency,
      decimals: d,
      step: d === 0 ? '1' : `0.${'0'.repeat(d - 1)}1`,
      format: (minor: number) => formatMoney(minor, currency),
      parse: (input: string) => parseMoney(input, currency),
      /** What an empty amount field shows, e.g. "0.00". */
      placeholder: d === 0 ? '0' : `0.${'0'.repeat(d)}`,
      label: (what: string) => `${what} (${currency})`,
    };
  }, [currency]);
}
