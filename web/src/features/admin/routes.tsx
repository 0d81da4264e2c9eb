import type { FeatureRoutes } from '../../app/nav.ts';
import { AdminPage } from './AdminPage.tsx';

export const routes: FeatureRoutes['routes'] = [];
// The admin signs in with the admin token, not a user session: the page needs no user.
export const publicRoutes: FeatureRoutes['publicRoutes'] = [{ path: 'admin', element: <AdminPage /> }];
