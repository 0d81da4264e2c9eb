import type { MouseEvent } from 'react';

/**
 * Navigation from code that is not a React Router component (an event handler, a helper).
 * The router itself is React Router's data router (app/routes.tsx); inside components prefer
 * its <Link> and useNavigate.
 */
type Navigate = (to: string, opts?: { replace?: boolean; state?: unknown }) => unknown;
let go: Navigate = (to) => {
  location.assign(to);
};

/** Set once by app/routes.tsx with the router's own navigate. */
export function setNavigate(n: Navigate) {
  go = n;
}

export function navigate(to: string, opts?: { replace?: boolean; state?: unknown }) {
  void go(to, opts);
}

/** An in-app link for a plain <a>: plain clicks navigate without reloading; modified clicks keep the browser's behaviour. */
export function link(to: string) {
  return (e: MouseEvent) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
}
