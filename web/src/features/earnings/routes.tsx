import type { FeatureRoutes } from '../../app/nav.ts';
import { EarningsPage } from './EarningsPage.tsx';

export const routes: FeatureRoutes['routes'] = [{ path: 'earnings', element: <EarningsPage /> }];
export const nav: FeatureRoutes['nav'] = [{ to: '/earnings', label: 'Earnings', order: 40 }];
