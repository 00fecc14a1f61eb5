"""The steps of the upgrade procedure, one module per phase family (used by the runbooks)."""
