import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ok, tranche } from '../../app/client.ts';
import { keys } from '../../app/query.ts';
import { formatTime } from '../../format.ts';
import { useContractView } from '../milestones/contract-data.ts';
import { partyOf } from './PartyCard.tsx';
import './reviews.css';

const WORDS = ['', 'Poor', 'Fair', 'Good', 'Very good', 'Excellent'];

/**
 * Reviews at close (seed 001 "leave a review"): each party rates the other once, 1–5 with a
 * comment. A review stays hidden from the other party until both are in or 14 days after the
 * close, whichever comes first, and cannot be changed.
 */
export function Reviews() {
  const { contract, role, other, run, busy } = useContractView();
  const reviews = useQuery({
    queryKey: keys.contractPart(contract.id, 'reviews'),
    queryFn: () => ok(tranche.GET('/v1/contracts/{id}/reviews', { params: { path: { id: contract.id } } })),
    enabled: contract.status === 'closed',
  });
  const [rating, setRating] = useState(0);
  const [comment, setComment] = useState('');
  if (contract.status !== 'closed' || !reviews.data) return null;
  const mine = reviews.data.data.find((r) => r.authorRole === role);
  const theirs = reviews.data.data.find((r) => r.authorRole !== role);
  const otherName = partyOf(contract, other)?.name ?? `the ${other}`;
  const reveals = reviews.data.revealsAt;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (rating < 1) return;
    const body = { rating, ...(comment.trim() && { comment: comment.trim() }) };
    await run(() => ok(tranche.POST('/v1/contracts/{id}/reviews', { params: { path: { id: contract.id } }, body })), `Your review of ${otherName} was saved.`);
  };

  return (
    <section className="card stack reviews" aria-labelledby="reviews-title">
      <h2 id="reviews-title">Reviews</h2>
      <p className="muted small">
        Each of you may rate the other once. A review stays hidden from the other party until both are in
        {reveals ? ` or until ${formatTime(reveals)}` : ' or 14 days after the close'}, whichever comes first, and cannot be changed after it is sent.
      </p>
      {mine ? (
        <div className="review">
          <p>
            Your review of {otherName}: <Stars n={mine.rating} /> {mine.comment && <q>{mine.comment}</q>}
          </p>
          <p className="muted small">{mine.visible ? `Visible to ${otherName}.` : `Hidden from ${otherName} until they review you${reveals ? ` or until ${formatTime(reveals)}` : ''}.`}</p>
        </div>
      ) : (
        <form className="stack" onSubmit={submit} aria-label={`Review ${otherName}`}>
          <fieldset className="stars">
            <legend>Your rating of {otherName}</legend>
            {[1, 2, 3, 4, 5].map((n) => (
              <label key={n}>
                <input type="radio" name="rating" value={n} checked={rating === n} onChange={() => setRating(n)} required />
                <span>
                  {n} – {WORDS[n]}
                </span>
              </label>
            ))}
          </fieldset>
          <label>
            Comment (optional)
            <textarea rows={3} maxLength={2000} value={comment} onChange={(e) => setComment(e.target.value)} />
          </label>
          <div>
            <button type="submit" disabled={busy || rating < 1}>
              Send the review
            </button>
          </div>
        </form>
      )}
      {theirs ? (
        <div className="review">
          <p>
            {otherName}’s review of you: <Stars n={theirs.rating} /> {theirs.comment && <q>{theirs.comment}</q>}
          </p>
        </div>
      ) : (
        <p className="muted small">{otherName}’s review of you shows here once it is visible.</p>
      )}
    </section>
  );
}

function Stars({ n }: { n: number }) {
  return (
    <span className="star-line">
      <span aria-hidden="true">{'★'.repeat(n)}{'☆'.repeat(5 - n)}</span>
      <span className="sr-only">
        {n} of 5 ({WORDS[n]})
      </span>
    </span>
  );
}
