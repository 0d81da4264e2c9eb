-- Four eyes on invoices (issue 11): a client organisation's first finance member paying by hand
-- an invoice whose balance is at or above the approval threshold charges nothing; it is kept
-- here until a second member pays it.
ALTER TABLE invoices
  ADD COLUMN approval_by text REFERENCES users(id),
  ADD COLUMN approval_at timestamptz;
