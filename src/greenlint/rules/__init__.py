"""Rules, one module each; `rules.base.all_rules()` loads them through `rules.catalog`."""
