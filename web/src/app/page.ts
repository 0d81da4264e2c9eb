import { useEffect } from 'react';

/** Each route names itself: "Payments · Tranche" in the tab, the history and screen readers. */
export function useTitle(title: string) {
  useEffect(() => {
    document.title = title ? `${title} · Tranche` : 'Tranche';
  }, [title]);
}

/**
 * After an in-app navigation, focus goes to the new page's heading (as a page load would put
 * a screen reader at the top), once that heading is rendered: a page may first show "Loading…".
 */
export function focusHeadingWhenShown(main: HTMLElement): () => void {
  const tryFocus = () => {
    const h = main.querySelector('h1');
    if (!h) return false;
    if (!h.hasAttribute('tabindex')) h.setAttribute('tabindex', '-1');
    h.focus();
    return true;
  };
  if (tryFocus()) return () => undefined;
  const obs = new MutationObserver(() => {
    if (tryFocus()) stop();
  });
  const timer = setTimeout(() => stop(), 10_000);
  const stop = () => {
    obs.disconnect();
    clearTimeout(timer);
  };
  obs.observe(main, { childList: true, subtree: true });
  return stop;
}
