import { useCallback, useEffect, useRef, useState } from 'react';
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
