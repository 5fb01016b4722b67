"""Fixtures of the bad-input catalogue (see ``bad_inputs_kit``)."""

from bad_inputs_kit import ws  # noqa: F401  (the shared workspace fixture)
