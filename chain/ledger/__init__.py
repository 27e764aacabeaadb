"""The data every other part uses: transactions, blocks, receipts, Merkle proofs, state and storage."""
