import type { FeatureRoutes } from '../../app/nav.ts';
import { AccountPage } from './AccountPage.tsx';

export const routes: FeatureRoutes['routes'] = [{ path: 'account', element: <AccountPage /> }];
export const nav: FeatureRoutes['nav'] = [{ to: '/account', label: 'Account', order: 70 }];
