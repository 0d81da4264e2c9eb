import { useTitle } from '../../app/page.ts';
import { useMe } from '../../app/session.tsx';
import { NotificationPreferences } from './NotificationPreferences.tsx';
import { PasswordForm } from './PasswordForm.tsx';
import { PaymentMethod } from './PaymentMethod.tsx';
import './account.css';

/** The signed-in person's account: who they are, their card, password and what they are emailed about. */
export function AccountPage() {
  useTitle('Account');
  const me = useMe();
  return (
    <section aria-labelledby="account-title" className="stack-lg">
      <div>
        <h1 id="account-title">Account</h1>
        <p className="muted">
          {me.name} · {me.email}
        </p>
      </div>
      <PaymentMethod me={me} />
      <PasswordForm />
      <NotificationPreferences />
    </section>
  );
}
