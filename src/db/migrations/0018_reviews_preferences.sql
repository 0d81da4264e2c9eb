-- Reviews at close (seed 001: "leave a review"): once a contract is closed each party may rate
-- the other once. A review is hidden from the other party until both are in, or 14 days after
-- the close (a `reveal_reviews` timer), whichever comes first; it never changes afterwards.
-- `subject_id` is the party rated: a user, or the client organisation.
CREATE TABLE reviews (
  id           text PRIMARY KEY,
  platform_id  text NOT NULL REFERENCES platforms(id),
  contract_id  text NOT NULL REFERENCES contracts(id),
  author_id    text NOT NULL REFERENCES users(id),
  author_role  text NOT NULL CHECK (author_role IN ('client', 'contractor')),
  subject_id   text NOT NULL,
  rating       smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
  comment      text,
  visible_at   timestamptz,
  created_at   timestamptz NOT NULL,
  UNIQUE (contract_id, author_role)
);
-- A party's average: their visible reviews.
CREATE INDEX reviews_subject ON reviews (subject_id) WHERE visible_at IS NOT NULL;

-- Email per kind of event, per user (in-app notifications are always written). No row: email on.
CREATE TABLE notification_preferences (
  user_id     text NOT NULL REFERENCES users(id),
  kind        text NOT NULL,
  email       boolean NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (user_id, kind)
);
