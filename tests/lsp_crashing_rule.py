"""Test helper for tests/test_lsp.py (not a test module): importing it registers GL999, a rule
that prints to stdout and then raises, so the server's handling of a misbehaving rule can be
checked end to end."""

from greenlint.rules.base import Rule, register


@register
class AlwaysCrashes(Rule):
    code = "GL999"
    name = "lsp-test-always-crashes"
    summary = "Raises on every file (a test helper)"
    impact = "low"

    def check(self, ctx):
        print("noise on stdout from a rule")  # must not corrupt the protocol stream
        raise RuntimeError("boom")
