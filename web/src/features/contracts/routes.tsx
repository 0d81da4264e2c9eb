import type { FeatureRoutes } from '../../app/nav.ts';
import { useTitle } from '../../app/page.ts';
import { ContractsPage } from './ContractsPage.tsx';

function ContractsRoute() {
  useTitle('Contracts');
  return <ContractsPage />;
}

export const routes: FeatureRoutes['routes'] = [{ index: true, element: <ContractsRoute /> }];
