"""The `chain` command."""
