import { useQuery } from '@tanstack/react-query';
import { createBrowserRouter, useParams, useRouteError, type RouteObject } from 'react-router';
import { ContractPage } from '../pages/Contract.tsx';
import { NotFoundPage } from '../pages/NotFound.tsx';
import { NotificationsPage } from '../pages/Notifications.tsx';
import { setNavigate } from '../router.ts';
import type { FeatureRoutes, NavItem } from './nav.ts';
import { useTitle } from './page.ts';
import { contractQuery } from './queries.ts';
import { useMe, useOnUnauthenticated } from './session.tsx';
import { Shell, SignedIn } from './Shell.tsx';

// Every feature folder with a routes.tsx adds its pages (and header links) here, without an
// edit of this file: see app/README.md, "Adding a page".
const features = Object.values(import.meta.glob<FeatureRoutes>('../features/*/routes.tsx', { eager: true }));

const NAV: NavItem[] = [
  { to: '/', label: 'Contracts', order: 10, match: ['/', '/contracts'] },
  { to: '/notifications', label: 'Notifications', order: 60 },
  ...features.flatMap((f) => f.nav ?? []),
].sort((a, b) => a.order - b.order);

/** /contracts/:id — the contract page (pages/Contract.tsx, the contract-page engineer's). */
function ContractRoute() {
  const { id = '' } = useParams();
  const me = useMe();
  const onUnauthenticated = useOnUnauthenticated();
  // The tab names the contract; the query is the one the contract page shares (app/queries.ts).
  const { data } = useQuery(contractQuery(id));
  useTitle(data ? data.title : 'Contract');
  return <ContractPage key={id} id={id} me={me} onUnauthenticated={onUnauthenticated} />;
}

function NotificationsRoute() {
  useTitle('Notifications');
  return <NotificationsPage />;
}

/** A render that threw: said in words, with a way back, instead of a blank page (the error itself goes to the console). */
function RouteError() {
  const error = useRouteError();
  useTitle('Something went wrong');
  console.error(error);
  return (
    <main id="main" className="page">
      <h1>Something went wrong</h1>
      <p>This page could not be shown. Reload it, or go back to your contracts; nothing was changed.</p>
      <p>
        <a href="/">Back to your contracts</a>
      </p>
    </main>
  );
}

export const routes: RouteObject[] = [
  {
    path: '/',
    element: <Shell nav={NAV} />,
    errorElement: <RouteError />,
    children: [
      ...features.flatMap((f) => f.publicRoutes ?? []),
      {
        element: <SignedIn />,
        children: [
          { path: 'contracts/:id', element: <ContractRoute /> },
          { path: 'notifications', element: <NotificationsRoute /> },
          ...features.flatMap((f) => f.routes),
        ],
      },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
];

export function createRouter() {
  const router = createBrowserRouter(routes);
  setNavigate((to, opts) => router.navigate(to, opts));
  return router;
}
