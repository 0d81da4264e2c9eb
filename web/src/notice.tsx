import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { ApiError, errorText } from './api.ts';
import { problemSentence, type WordsContext } from './app/words.ts';

type State = { error: string | null; info: string | null };
type Notice = { error: (e: unknown, ctx?: WordsContext) => void; info: (text: string) => void; clear: () => void };
const Ctx = createContext<Notice>({ error: () => undefined, info: () => undefined, clear: () => undefined });
const StateCtx = createContext<State & { clear: () => void }>({ error: null, info: null, clear: () => undefined });

/** Holds the one alert (a failed call, in words) and the one status message (a success). */
export function NoticeProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<State>({ error: null, info: null });
  // The sentence for people (app/words.ts); `ctx.currency` formats amounts the problem names without one.
  const error = useCallback((e: unknown, ctx?: WordsContext) => setState({ error: e instanceof ApiError ? problemSentence(e, ctx) : errorText(e), info: null }), []);
  const info = useCallback((text: string) => setState({ error: null, info: text }), []);
  const clear = useCallback(() => setState({ error: null, info: null }), []);
  const value = useMemo(() => ({ error, info, clear }), [error, info, clear]);
  const shown = useMemo(() => ({ ...state, clear }), [state, clear]);
  return (
    <Ctx.Provider value={value}>
      <StateCtx.Provider value={shown}>{children}</StateCtx.Provider>
    </Ctx.Provider>
  );
}

/** The live regions: always in the page, so screen readers announce what is put in them. */
export function Notices() {
  const { error, info, clear } = useContext(StateCtx);
  return (
    <div className="notices">
      <div role="alert" className={error ? 'notice error' : 'notice'}>
        {error && (
          <>
            <span className="notice-text">{error}</span>
            <button type="button" className="link" onClick={clear} aria-label="Dismiss">
              ×
            </button>
          </>
        )}
      </div>
      <div role="status" className={info ? 'notice info' : 'notice'}>
        {info}
      </div>
    </div>
  );
}

export const useNotice = () => useContext(Ctx);
