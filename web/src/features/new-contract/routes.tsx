import type { FeatureRoutes } from '../../app/nav.ts';
import { NewContractPage } from './NewContractPage.tsx';

export const routes: FeatureRoutes['routes'] = [{ path: 'contracts/new', element: <NewContractPage /> }];
