import type { FeatureRoutes } from '../../app/nav.ts';
import { ContractorPage } from './ContractorPage.tsx';
import { InvitationPage } from './InvitationPage.tsx';
import { OrganizationPage } from './OrganizationPage.tsx';
import { OrganizationsPage } from './OrganizationsPage.tsx';

export const routes: FeatureRoutes['routes'] = [
  { path: 'organizations', element: <OrganizationsPage /> },
  { path: 'organizations/:id', element: <OrganizationPage /> },
  { path: 'organizations/:id/contractors/:userId', element: <ContractorPage /> },
];
export const nav: FeatureRoutes['nav'] = [{ to: '/organizations', label: 'Organisations', order: 50 }];
// The invitation email's link: open without signing in.
export const publicRoutes: FeatureRoutes['publicRoutes'] = [{ path: 'invitations/:token', element: <InvitationPage /> }];
