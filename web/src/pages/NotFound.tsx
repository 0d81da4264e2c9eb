import { Link } from 'react-router';
import { useTitle } from '../app/page.ts';

/** Any path the app does not know. */
export function NotFoundPage() {
  useTitle('Page not found');
  return (
    <section aria-labelledby="nf-title" className="stack">
      <h1 id="nf-title">Page not found</h1>
      <p>There is no page at this address. It may have moved, or the link has a typo.</p>
      <p>
        <Link to="/" className="button">
          Go to your contracts
        </Link>
      </p>
    </section>
  );
}
