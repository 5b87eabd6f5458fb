"""CAFIS telegram checks of seed 3.3.4 / 3.3.5 (see docs/cafis.md for the API).

    from faxbridge.core.cafis import registry, checks
    chk = checks.Checker(registry.load(json_text_or_dict))
    v = chk.check(telegram, "center", "A")   # -> verdict.Verdict (kind, code, rule, field)
"""
