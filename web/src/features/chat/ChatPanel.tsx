import { useCallback, useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { api, ApiError, type Contract, type Page, type User } from '../../api.ts';
import { formatTime } from '../../format.ts';
import { useNotice } from '../../notice.tsx';
import { useLiveEvents, type ChatMessage } from '../live/live.tsx';
import { ACCEPT, fileProblem, fileUrl, uploadFile } from '../files/upload.ts';
import './chat.css';

const PAGE = 50;
const MAX_CHARS = 10_000;

/**
 * The contract's conversation: the thread (older pages on demand), new messages as they arrive
 * on the live stream, a composer with attachments, and an unread badge. What is on screen while
 * the tab is visible counts as read.
 */
export function ChatPanel({ contract, me, onUnauthenticated }: { contract: Contract & { unreadMessages?: number }; me: User; onUnauthenticated: () => void }) {
  const notice = useNotice();
  const base = `/v1/contracts/${encodeURIComponent(contract.id)}/messages`;
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [older, setOlder] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [unread, setUnread] = useState(contract.unreadMessages ?? 0);
  const [body, setBody] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const [sending, setSending] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const end = useRef<HTMLLIElement>(null);
  const writable = contract.status === 'proposal' || contract.status === 'active';
  const roleOf = (userId: string) => (userId === me.id ? 'You' : userId === contract.clientId ? 'Client' : 'Contractor');

  const fail = useCallback(
    (e: unknown) => {
      if (e instanceof ApiError && e.status === 401) onUnauthenticated();
      else notice.error(e);
    },
    [notice, onUnauthenticated],
  );

  const markRead = useCallback(
    async (upTo: string) => {
      if (document.visibilityState !== 'visible') return;
      try {
        const r = await api.post<{ unreadMessages: number }>(`${base}/read`, { upTo });
        setUnread(r.unreadMessages);
      } catch (e) {
        fail(e);
      }
    },
    [base, fail],
  );

  const merge = (list: ChatMessage[], more: ChatMessage[]) => {
    const byId = new Map(list.map((m) => [m.id, m]));
    for (const m of more) byId.set(m.id, m);
    return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  };

  useEffect(() => {
    let gone = false;
    api
      .get<Page<ChatMessage>>(`${base}?limit=${PAGE}`)
      .then((page) => {
        if (gone) return;
        setMessages((list) => merge(list, page.data));
        setOlder(page.nextCursor);
        setLoaded(true);
        const last = page.data[0];
        if (last) void markRead(last.id);
      })
      .catch(fail);
    return () => {
      gone = true;
    };
  }, [base, fail, markRead]);

  // Coming back to the tab reads what arrived meanwhile.
  useEffect(() => {
    const on = () => {
      const last = messages.at(-1);
      if (document.visibilityState === 'visible' && last && unread > 0) void markRead(last.id);
    };
    document.addEventListener('visibilitychange', on);
    return () => document.removeEventListener('visibilitychange', on);
  }, [messages, unread, markRead]);

  useLiveEvents((e) => {
    if (e.type === 'message' && e.message.contractId === contract.id) {
      setMessages((list) => merge(list, [e.message]));
      setUnread(e.unreadMessages);
      if (e.message.authorId !== me.id) void markRead(e.message.id);
    } else if (e.type === 'read' && e.contractId === contract.id && e.unreadMessages !== null) {
      setUnread(e.unreadMessages);
    }
  });

  useEffect(() => {
    end.current?.scrollIntoView?.({ block: 'nearest' });
  }, [messages.length]);

  const loadOlder = async () => {
    if (!older) return;
    try {
      const page = await api.get<Page<ChatMessage>>(`${base}?limit=${PAGE}&cursor=${encodeURIComponent(older)}`);
      setMessages((list) => merge(list, page.data));
      setOlder(page.nextCursor);
    } catch (e) {
      fail(e);
    }
  };

  const send = async (ev?: FormEvent) => {
    ev?.preventDefault();
    if (!body.trim() || sending) return;
    setSending(true);
    try {
      // Type and size are checked before anything is sent (the server's limits, features/files).
      const problem = files.map(fileProblem).find((p) => p !== null);
      if (problem) throw new Error(problem);
      const attachmentIds = [];
      for (const f of files) attachmentIds.push((await uploadFile(f)).id);
      const m = await api.post<ChatMessage>(base, { body, attachmentIds });
      setMessages((list) => merge(list, [m]));
      setBody('');
      setFiles([]);
      if (fileInput.current) fileInput.current.value = '';
    } catch (e) {
      fail(e);
    } finally {
      setSending(false);
    }
  };

  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void send();
  };

  const chars = [...body.trim()].length;
  return (
    <section aria-labelledby="chat-title" className="card chat">
      <div className="row between">
        <h2 id="chat-title">Conversation</h2>
        {unread > 0 && (
          <span className="badge unread-badge" aria-label={`${unread} unread`}>
            {unread} unread
          </span>
        )}
      </div>
      {older && (
        <button type="button" className="link" onClick={() => void loadOlder()}>
          Load earlier messages
        </button>
      )}
      <ol className="chat-thread" aria-label="Conversation thread" aria-live="polite" aria-busy={!loaded}>
        {loaded && messages.length === 0 && <li className="muted">No messages yet.</li>}
        {messages.map((m) => (
          <li key={m.id} className={m.authorId === me.id ? 'chat-message mine' : 'chat-message'} aria-label={`${roleOf(m.authorId)}: ${m.body.slice(0, 80)}`}>
            <div className="row between">
              <strong>{roleOf(m.authorId)}</strong>
              <time dateTime={m.createdAt} className="muted">
                {formatTime(m.createdAt)}
              </time>
            </div>
            <p className="chat-body">{m.body}</p>
            {m.attachments.length > 0 && (
              <ul className="chat-files">
                {m.attachments.map((f) => (
                  <li key={f.id}>
                    <a href={fileUrl(f.id)} download={f.filename}>
                      {f.filename}
                    </a>{' '}
                    <span className="muted">({Math.max(1, Math.round(f.size / 1024))} KB)</span>
                  </li>
                ))}
              </ul>
            )}
          </li>
        ))}
        <li ref={end} aria-hidden="true" className="chat-end" />
      </ol>
      {writable ? (
        <form onSubmit={send} className="chat-composer">
          <label htmlFor="chat-body">Message</label>
          <textarea id="chat-body" rows={3} value={body} maxLength={MAX_CHARS * 2} onChange={(e) => setBody(e.target.value)} onKeyDown={onKey} />
          <div className="row between wrap">
            <label className="chat-attach">
              Attach files
              <input ref={fileInput} type="file" multiple accept={ACCEPT} onChange={(e) => setFiles([...(e.target.files ?? [])])} />
            </label>
            <span className={chars > MAX_CHARS ? 'error-text' : 'muted'}>
              {chars} / {MAX_CHARS}
            </span>
            <button type="submit" disabled={sending || chars === 0 || chars > MAX_CHARS}>
              {sending ? 'Sending…' : 'Send'}
            </button>
          </div>
        </form>
      ) : (
        <p className="muted">This contract has ended: its conversation is kept, read-only.</p>
      )}
    </section>
  );
}
