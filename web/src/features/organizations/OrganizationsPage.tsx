import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { ok, tranche } from '../../app/client.ts';
import { useTitle } from '../../app/page.ts';
import { useNotice } from '../../notice.tsx';
import { roleList } from './roles.ts';
import './organizations.css';

/** The organisations the person belongs to (the switcher: each opens its own page), and founding one. */
export function OrganizationsPage() {
  useTitle('Organisations');
  const notice = useNotice();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const list = useQuery({ queryKey: ['organizations'], queryFn: () => ok(tranche.GET('/v1/organizations')) });
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const found = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const org = await ok(tranche.POST('/v1/organizations', { body: { name } }));
      await qc.invalidateQueries({ queryKey: ['organizations'] });
      navigate(`/organizations/${org.id}`, { state: { notice: `${org.name} is founded: you are its owner.` } });
    } catch (err) {
      notice.error(err);
    } finally {
      setBusy(false);
    }
  };
  const orgs = list.data?.data ?? [];
  return (
    <div className="stack-lg orgs">
      <h1>Organisations</h1>
      <p className="muted">A company can be the client of its contracts: its people sign in as themselves and act for it by role.</p>
      {list.isPending ? (
        <p className="muted">Loading…</p>
      ) : orgs.length === 0 ? (
        <div className="card empty">
          <p>You are not a member of any organisation yet.</p>
          <p className="muted">Found one below, or accept an invitation from your email.</p>
        </div>
      ) : (
        <ul className="org-list" aria-label="Your organisations">
          {orgs.map((o) => (
            <li key={o.id} className="card row between wrap">
              <Link to={`/organizations/${o.id}`}>
                <strong>{o.name}</strong>
              </Link>
              <span className="muted">Your roles: {roleList(o.myRoles)}</span>
            </li>
          ))}
        </ul>
      )}
      <form className="card stack" onSubmit={found} aria-labelledby="found-title">
        <h2 id="found-title">Found an organisation</h2>
        <label className="stack">
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} autoComplete="organization" />
        </label>
        <div>
          <button type="submit" disabled={busy || !name.trim()}>
            Found it
          </button>
        </div>
      </form>
    </div>
  );
}
