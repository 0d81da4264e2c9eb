import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { ok, tranche } from '../../app/client.ts';
import { useMe } from '../../app/session.tsx';
import { useNotice } from '../../notice.tsx';
import { ORG_ROLES, ROLE_WORDS, roleList, type OrgRole, type Organization } from './roles.ts';

/** Members and their roles; admins change roles and remove members (only owners touch `owner`); anyone may leave. */
export function Members({ org, canManage, isOwner }: { org: Organization; canManage: boolean; isOwner: boolean }) {
  const me = useMe();
  const notice = useNotice();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const key = ['organization', org.id, 'members'];
  const list = useQuery({ queryKey: key, queryFn: () => ok(tranche.GET('/v1/organizations/{id}/members', { params: { path: { id: org.id } } })) });
  const [editing, setEditing] = useState<{ userId: string; roles: OrgRole[] } | null>(null);
  const [busy, setBusy] = useState(false);
  const act = async (f: () => Promise<unknown>, done: string) => {
    setBusy(true);
    try {
      await f();
      await qc.invalidateQueries({ queryKey: ['organization', org.id] });
      notice.info(done);
      return true;
    } catch (err) {
      notice.error(err);
      return false;
    } finally {
      setBusy(false);
    }
  };
  const save = async () => {
    if (!editing) return;
    const ok2 = await act(
      () => ok(tranche.PATCH('/v1/organizations/{id}/members/{userId}', { params: { path: { id: org.id, userId: editing.userId } }, body: { roles: editing.roles } })),
      'Roles saved.',
    );
    if (ok2) setEditing(null);
  };
  const remove = async (userId: string, name: string) => {
    const self = userId === me.id;
    if (!window.confirm(self ? `Leave ${org.name}?` : `Remove ${name} from ${org.name}?`)) return;
    const done = await act(() => ok(tranche.DELETE('/v1/organizations/{id}/members/{userId}', { params: { path: { id: org.id, userId } } })), self ? 'You left.' : `${name} was removed.`);
    if (done && self) {
      await qc.invalidateQueries({ queryKey: ['organizations'] });
      navigate('/organizations');
    }
  };
  const rows = list.data?.data ?? [];
  return (
    <section className="card stack" aria-labelledby="members-title">
      <h2 id="members-title">Members</h2>
      <table className="table cards">
        <thead>
          <tr>
            <th>Member</th>
            <th>Roles</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((m) => (
            <tr key={m.userId}>
              <td data-label="">
                <strong>{m.name}</strong> <span className="muted">{m.email}</span>
              </td>
              <td data-label="Roles">
                {editing?.userId === m.userId ? (
                  <fieldset className="org-roles">
                    <legend className="sr-only">Roles of {m.name}</legend>
                    {ORG_ROLES.filter((r) => isOwner || r !== 'owner').map((r) => (
                      <label key={r} className="row">
                        <input
                          type="checkbox"
                          checked={editing.roles.includes(r)}
                          onChange={(e) => setEditing({ ...editing, roles: e.target.checked ? [...editing.roles, r] : editing.roles.filter((x) => x !== r) })}
                        />
                        <span>{ROLE_WORDS[r]}</span>
                      </label>
                    ))}
                  </fieldset>
                ) : (
                  roleList(m.roles)
                )}
              </td>
              <td data-label="">
                <div className="row wrap end">
                  {editing?.userId === m.userId ? (
                    <>
                      <button type="button" onClick={save} disabled={busy || editing.roles.length === 0}>
                        Save roles
                      </button>
                      <button type="button" className="secondary" onClick={() => setEditing(null)}>
                        Cancel
                      </button>
                    </>
                  ) : (
                    <>
                      {canManage && (isOwner || !m.roles.includes('owner')) && (
                        <button type="button" className="secondary" onClick={() => setEditing({ userId: m.userId, roles: m.roles as OrgRole[] })}>
                          Change roles
                        </button>
                      )}
                      {(m.userId === me.id || (canManage && (isOwner || !m.roles.includes('owner')))) && (
                        <button type="button" className="secondary" onClick={() => remove(m.userId, m.name)} disabled={busy}>
                          {m.userId === me.id ? 'Leave' : 'Remove'}
                        </button>
                      )}
                    </>
                  )}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
