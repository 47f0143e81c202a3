"""The asset graph: inbox -> submissions -> decisions and ledger -> department reports."""
