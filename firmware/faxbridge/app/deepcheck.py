"""What boot checks and loads beyond the config schema: the CAFIS registry (docs/unit.md,
"Configuration")."""


def load_registry(cfg, flash):
    """The CAFIS registry (file on flash or inline object), or None when not configured."""
    from faxbridge.core.cafis import registry
    src = cfg["cafis"]["registry"]
    if src is None:
        return None
    lay = cfg["cafis"]["layouts"]
    if isinstance(src, str):
        with open(flash + src) as f:          # parsed as it is read, never held whole
            if lay is None:
                return registry.load(f)
            import json
            src = json.load(f)
    if lay is not None:
        if isinstance(lay, str):
            import json
            try:
                with open(flash + lay) as f:
                    lay = json.load(f)
            except (OSError, ValueError) as e:   # named: the registry is not what failed
                raise ValueError("cafis.layouts: cannot read %s (%s)" % (lay, e))
        if isinstance(src, dict):
            src["layouts"] = lay
    return registry.load(src)


def deep_check(cfg, flash):
    """Errors the schema cannot see: the CAFIS registry. Returns (errors, registry): the
    registry loaded here is the one the unit runs with (Unit(port, cfg, registry)), never
    loaded twice. The driver's options are not checked by building a driver here: the schema
    holds every one of them (test_app_config checks it against the driver), and the unit
    builds its one driver (a second one, and the holes it leaves, at boot: docs/bench.md)."""
    errors = []
    reg = None
    try:
        reg = load_registry(cfg, flash)
    except OSError as e:
        errors.append("cafis.registry: cannot read (%s)" % e)
    except ValueError as e:
        e = str(e)
        errors.append(e if e.startswith("cafis.") else "cafis.registry: " + e)
    return errors, reg
