-- The contract page sums a contract's escrow balances
-- (ledger_accounts WHERE platform_id = $1 AND contract_id = $2 AND kind = 'escrow').
-- The primary key (platform_id, address, currency) cannot serve it, so it was a sequential
-- scan over every account of the platform: latency grew with the size of the ledger
-- (bench/scale.ts: 25 ms at 10^5 milestones). Shared accounts have no contract_id.
CREATE INDEX ledger_accounts_contract ON ledger_accounts (contract_id) WHERE contract_id IS NOT NULL;
