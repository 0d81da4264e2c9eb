import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { components } from '@tranche/client';
import type { Activity, Notification } from '../../api.ts';
import './live.css';

/** What GET /v1/events sends (see the API reference: Events). */
export type Unread = { notifications: number; messages: number };
export type ChatMessage = components['schemas']['Message'];
export type LiveEvent =
  | { type: 'message'; message: ChatMessage; unreadMessages: number; unread: Unread }
  | { type: 'activity'; activity: Activity & { contractId: string } }
  | { type: 'notification'; notification: Notification; unread: Unread }
  | { type: 'read'; contractId: string | null; unreadMessages: number | null; unread: Unread }
  | { type: 'ready'; unread: Unread; reconnected: boolean };

type Listener = (e: LiveEvent) => void;
type Live = { unread: Unread | null; subscribe: (l: Listener) => () => void };

const Ctx = createContext<Live>({ unread: null, subscribe: () => () => undefined });

const TYPES = ['ready', 'message', 'activity', 'notification', 'read'] as const;

/**
 * One EventSource per signed-in tab. The browser reconnects by itself and sends the last event
 * id back (Last-Event-ID), so the server resumes the stream without loss; after a reconnection
 * every subscriber is told (`ready`) and the query cache is invalidated (invalidate.ts), in case the gap was
 * longer than the log keeps.
 */
export function LiveProvider({ children }: { children: ReactNode }) {
  const [unread, setUnread] = useState<Unread | null>(null);
  const listeners = useRef(new Set<Listener>());

  useEffect(() => {
    const source = new EventSource('/v1/events');
    let opened = false;
    const emit = (e: LiveEvent) => {
      if (e.type === 'ready') {
        e.reconnected = opened;
        opened = true;
      }
      if ('unread' in e && e.unread) setUnread(e.unread);
      for (const l of [...listeners.current]) l(e);
    };
    const handlers = TYPES.map((type) => {
      const h = (ev: MessageEvent<string>) => {
        try {
          emit({ type, ...JSON.parse(ev.data) } as LiveEvent);
        } catch {
          /* not ours */
        }
      };
      source.addEventListener(type, h);
      return [type, h] as const;
    });
    return () => {
      for (const [type, h] of handlers) source.removeEventListener(type, h);
      source.close();
    };
  }, []);

  const value = useMemo<Live>(
    () => ({
      unread,
      subscribe: (l) => {
        listeners.current.add(l);
        return () => listeners.current.delete(l);
      },
    }),
    [unread],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export const useUnread = () => useContext(Ctx).unread;

/** Calls `on` for every live event (the latest `on`, without resubscribing). */
export function useLiveEvents(on: Listener) {
  const { subscribe } = useContext(Ctx);
  const ref = useRef(on);
  ref.current = on;
  useEffect(() => subscribe((e) => ref.current(e)), [subscribe]);
}
