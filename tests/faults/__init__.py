"""The fault suite: what both stacks do when files, database, API or caller misbehave."""
