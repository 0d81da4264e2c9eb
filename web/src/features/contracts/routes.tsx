import type { FeatureRoutes } from '../../app/nav.ts';
import { useMe } from '../../app/session.tsx';
import { useTitle } from '../../app/page.ts';
import { ContractsPage } from './ContractsPage.tsx';

function ContractsRoute() {
  useTitle('Contracts');
  return <ContractsPage me={useMe()} />;
}

export const routes: FeatureRoutes['routes'] = [{ index: true, element: <ContractsRoute /> }];
