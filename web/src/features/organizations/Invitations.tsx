import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ok, tranche } from '../../app/client.ts';
import { formatDate } from '../../format.ts';
import { useNotice } from '../../notice.tsx';
import { ORG_ROLES, ROLE_WORDS, roleList, type OrgRole, type Organization } from './roles.ts';

/** Admins invite by email (a single-use link valid 7 days, sent by email only), list and revoke invitations. */
export function Invitations({ org }: { org: Organization }) {
  const notice = useNotice();
  const qc = useQueryClient();
  const key = ['organization', org.id, 'invitations'];
  const list = useQuery({ queryKey: key, queryFn: () => ok(tranche.GET('/v1/organizations/{id}/invitations', { params: { path: { id: org.id } } })) });
  const [email, setEmail] = useState('');
  const [roles, setRoles] = useState<OrgRole[]>(['viewer']);
  const [busy, setBusy] = useState(false);
  const invite = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const inv = await ok(tranche.POST('/v1/organizations/{id}/invitations', { params: { path: { id: org.id } }, body: { email, roles } }));
      await qc.invalidateQueries({ queryKey: key });
      notice.info(`Invitation sent to ${inv.email}; the link works once, for 7 days.`);
      setEmail('');
    } catch (err) {
      notice.error(err);
    } finally {
      setBusy(false);
    }
  };
  const revoke = async (invitationId: string) => {
    try {
      await ok(tranche.DELETE('/v1/organizations/{id}/invitations/{invitationId}', { params: { path: { id: org.id, invitationId } } }));
      await qc.invalidateQueries({ queryKey: key });
      notice.info('Invitation revoked: its link no longer works.');
    } catch (err) {
      notice.error(err);
    }
  };
  const rows = list.data?.data ?? [];
  return (
    <section className="card stack" aria-labelledby="invitations-title">
      <h2 id="invitations-title">Invitations</h2>
      <form className="stack" onSubmit={invite} aria-label="Invite someone">
        <label className="stack">
          Email
          <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} required autoComplete="off" />
        </label>
        <fieldset className="org-roles">
          <legend>Roles</legend>
          {ORG_ROLES.filter((r) => r !== 'owner').map((r) => (
            <label key={r} className="row">
              <input type="checkbox" checked={roles.includes(r)} onChange={(e) => setRoles(e.target.checked ? [...roles, r] : roles.filter((x) => x !== r))} />
              <span>{ROLE_WORDS[r]}</span>
            </label>
          ))}
        </fieldset>
        <div>
          <button type="submit" disabled={busy || !email || roles.length === 0}>
            Send invitation
          </button>
        </div>
      </form>
      {rows.length > 0 && (
        <table className="table cards">
          <thead>
            <tr>
              <th>Email</th>
              <th>Roles</th>
              <th>Status</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((i) => (
              <tr key={i.id}>
                <td data-label="">{i.email}</td>
                <td data-label="Roles">{roleList(i.roles)}</td>
                <td data-label="Status">
                  <span className="badge">{i.status}</span>
                  {i.status === 'pending' && <span className="muted"> until {formatDate(i.expiresAt.slice(0, 10))}</span>}
                </td>
                <td data-label="">
                  {i.status === 'pending' && (
                    <button type="button" className="secondary" onClick={() => revoke(i.id)}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
