"""Block sync: how a node that fell behind fetches, checks and applies the blocks it lacks."""
