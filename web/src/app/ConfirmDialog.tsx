import { createContext, useCallback, useContext, useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { formatMoney } from '../money.ts';
import { cardName } from './words.ts';

/** What a confirmation shows before money moves (or anything else that cannot be undone). */
export type ConfirmRequest = {
  /** The question, e.g. "Fund “Landing page”?" */
  title: string;
  /** The amount that moves, in minor units of `currency`. */
  amount?: number;
  currency?: string;
  /** The platform's fee on it (minor units), shown with `feeLabel` ("Fee paid by you" by default). */
  fee?: number;
  feeLabel?: string;
  /** The card charged: a payment method id (named in words), null for "no card yet"; leave out when no card is involved. */
  card?: string | null;
  /** Any further lines: label → value (already formatted). */
  details?: { label: string; value: ReactNode }[];
  /** What happens next, in a sentence or two. */
  next: ReactNode;
  /** The button that does it, e.g. "Fund $1,500.00". */
  confirmLabel: string;
  cancelLabel?: string;
  /** Red confirm button: refunds, deletions, closing. */
  danger?: boolean;
};

/**
 * An accessible modal (the platform's <dialog> with showModal: focus stays inside, Escape
 * cancels, the page behind is inert), labelled by its title and described by what happens next.
 * Focus starts on Cancel, so a stray Enter never moves money; it returns where it was on close.
 */
export function ConfirmDialog({ request, onAnswer }: { request: ConfirmRequest | null; onAnswer: (yes: boolean) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  const nextId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (request && !d.open) {
      d.showModal();
      cancelRef.current?.focus();
    } else if (!request && d.open) d.close();
  }, [request]);
  const r = request;
  const cur = r?.currency ?? 'USD';
  return (
    <dialog
      ref={ref}
      className="confirm"
      aria-labelledby={titleId}
      aria-describedby={nextId}
      onCancel={(e) => {
        e.preventDefault();
        onAnswer(false);
      }}
    >
      {r && (
        <form
          method="dialog"
          className="stack"
          onSubmit={(e) => {
            e.preventDefault();
            onAnswer(true);
          }}
        >
          <h2 id={titleId}>{r.title}</h2>
          <dl className="confirm-lines">
            {r.amount !== undefined && (
              <div>
                <dt>Amount</dt>
                <dd>{formatMoney(r.amount, cur)}</dd>
              </div>
            )}
            {r.fee !== undefined && (
              <div>
                <dt>{r.feeLabel ?? 'Platform fee'}</dt>
                <dd>{formatMoney(r.fee, cur)}</dd>
              </div>
            )}
            {r.card !== undefined && (
              <div>
                <dt>Card</dt>
                <dd>{cardName(r.card)}</dd>
              </div>
            )}
            {r.details?.map((d) => (
              <div key={d.label}>
                <dt>{d.label}</dt>
                <dd>{d.value}</dd>
              </div>
            ))}
          </dl>
          <div id={nextId} className="confirm-next">
            <strong>What happens next: </strong>
            {r.next}
          </div>
          <div className="row end wrap">
            <button type="button" className="secondary" ref={cancelRef} onClick={() => onAnswer(false)}>
              {r.cancelLabel ?? 'Cancel'}
            </button>
            <button type="submit" className={r.danger ? 'danger' : undefined}>
              {r.confirmLabel}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}

type Confirm = (r: ConfirmRequest) => Promise<boolean>;
const Ctx = createContext<Confirm>(() => Promise.resolve(false));

/** One dialog for the app; `useConfirm()` asks and resolves true (confirmed) or false. */
export function ConfirmProvider({ children }: { children: ReactNode }) {
  const [pending, setPending] = useState<{ request: ConfirmRequest; resolve: (yes: boolean) => void } | null>(null);
  const opener = useRef<Element | null>(null);
  const confirm = useCallback<Confirm>(
    (request) =>
      new Promise<boolean>((resolve) => {
        opener.current = document.activeElement;
        setPending((p) => {
          p?.resolve(false);
          return { request, resolve };
        });
      }),
    [],
  );
  const answer = (yes: boolean) => {
    pending?.resolve(yes);
    setPending(null);
    // Back to the button that asked, if it is still there.
    const el = opener.current;
    if (el instanceof HTMLElement && el.isConnected) setTimeout(() => el.focus(), 0);
  };
  return (
    <Ctx.Provider value={confirm}>
      {children}
      <ConfirmDialog request={pending?.request ?? null} onAnswer={answer} />
    </Ctx.Provider>
  );
}

export const useConfirm = () => useContext(Ctx);
