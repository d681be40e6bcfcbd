"""The command-line tools: compare, checklist, doctor, and the CLI that runs them."""
