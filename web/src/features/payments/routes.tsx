import type { FeatureRoutes } from '../../app/nav.ts';
import { useMe } from '../../app/session.tsx';
import { useTitle } from '../../app/page.ts';
import { PaymentsPage } from './PaymentsPage.tsx';

function PaymentsRoute() {
  useTitle('Payments');
  return <PaymentsPage me={useMe()} />;
}

export const routes: FeatureRoutes['routes'] = [{ path: 'payments', element: <PaymentsRoute /> }];
export const nav: FeatureRoutes['nav'] = [{ to: '/payments', label: 'Payments', order: 30 }];
