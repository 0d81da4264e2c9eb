import { useQueryClient } from '@tanstack/react-query';
import { keys } from '../../app/query.ts';
import { useLiveEvents, type LiveEvent } from './live.tsx';

/**
 * Keeps the server state current from the event stream: whatever either party does shows
 * without a reload. An event names its contract; everything cached about that contract
 * (`['contract', id, …]`), the lists that summarise contracts and the payments are marked stale
 * and refetched if shown. After a reconnection everything is, in case the gap was longer than
 * the stream's log keeps.
 */
export function useLiveInvalidation() {
  const qc = useQueryClient();
  useLiveEvents((e: LiveEvent) => {
    const inv = (queryKey: readonly unknown[]) => void qc.invalidateQueries({ queryKey });
    switch (e.type) {
      case 'ready':
        if (e.reconnected) void qc.invalidateQueries();
        return;
      case 'activity':
        inv(keys.contract(e.activity.contractId));
        inv(['milestone']);
        inv(['contracts']);
        inv(['payments']);
        inv(['profile']);
        inv(['admin']);
        return;
      case 'message':
        inv(keys.contractPart(e.message.contractId, 'messages').slice(0, 3));
        inv(['contracts']);
        return;
      case 'notification':
        inv(keys.notifications);
        return;
      case 'read':
        if (e.contractId) inv(['contracts']);
        else inv(keys.notifications);
        return;
    }
  });
}
