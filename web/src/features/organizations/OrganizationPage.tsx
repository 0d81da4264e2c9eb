import { useQuery } from '@tanstack/react-query';
import { useParams } from 'react-router';
import { ok, tranche } from '../../app/client.ts';
import { useTitle } from '../../app/page.ts';
import { Contractors } from './Contractors.tsx';
import { Invitations } from './Invitations.tsx';
import { Members } from './Members.tsx';
import { can, roleList } from './roles.ts';
import { Settings } from './Settings.tsx';
import './organizations.css';

/** One organisation: its contractors (seed 000), members and roles, invitations and settings — each shown to the roles that may use it. */
export function OrganizationPage() {
  const { id = '' } = useParams();
  const org = useQuery({ queryKey: ['organization', id], queryFn: () => ok(tranche.GET('/v1/organizations/{id}', { params: { path: { id } } })) });
  useTitle(org.data?.name ?? 'Organisation');
  if (org.isPending) return <p className="muted">Loading…</p>;
  if (!org.data) {
    return (
      <div className="stack">
        <h1>Organisation not found</h1>
        <p className="muted">It does not exist, or you are not one of its members.</p>
      </div>
    );
  }
  const o = org.data;
  const roles = o.myRoles;
  return (
    <div className="stack-lg orgs">
      <div className="stack">
        <h1>{o.name}</h1>
        <p className="muted">
          Your roles: <strong>{roleList(roles)}</strong>
        </p>
      </div>
      <Contractors org={o} />
      <Members org={o} canManage={can(roles, 'admin')} isOwner={can(roles, 'owner')} />
      {can(roles, 'admin') && <Invitations org={o} />}
      {(can(roles, 'admin') || can(roles, 'finance')) && <Settings org={o} />}
    </div>
  );
}
