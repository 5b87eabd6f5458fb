"""pytest's one place for sys.path: tools/hostpath.py, and the core tests' helpers; and the order
and grouping `make test` gives its parallel workers (pytest-xdist, --dist loadgroup)."""
import os
import sys

import pytest

_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(_here), "tools"))
import hostpath  # noqa: E402,F401  (firmware/, the shims, tools/ and tools/bench on sys.path)

sys.path.insert(0, os.path.join(_here, "core"))

# The slowest host test files, slowest first (--durations over host_tests/host, Dec 2026: the
# soak ~210 s, the fax simulator files ~330 s and ~100 s, the rest 15-90 s each). Run first, a
# worker each, so no long file starts last; every other file follows in collection order.
_SLOW = ("test_unit_soak.py", "test_fax_sim.py", "test_fax_sim_class20.py",
         "test_mqtt_exactly_once.py", "test_unit_e2e.py", "test_unit_run.py", "test_run_amqtt.py",
         "test_modemsim_line.py", "test_modemsim_class20_efax.py", "test_fax_delivery.py",
         "test_modemsim_efax.py", "test_deploy_standin.py", "test_sendfax.py")
# Files whose tests are independent per `runtime` parameter (own temp folders, no module state):
# one group per runtime, so the largest file is not one worker's long tail.
_BY_RUNTIME = ("test_fax_sim.py", "test_fax_sim_class20.py")


def _group(item):
    """No ']' in a group name: xdist would then take the test's own id for its group."""
    path = item.nodeid.split("::")[0]
    if item.path.name in _BY_RUNTIME:
        runtime = getattr(item, "callspec", None) and item.callspec.params.get("runtime")
        if runtime:
            return "%s:%s" % (path, runtime)
    return path   # a file's tests stay on one worker: its build/ outputs, its module state


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Slow files first (stable: a file's tests keep their order); under xdist every test is
    marked with its group, a test file (or one runtime's half of a _BY_RUNTIME file)."""
    rank = {n: i for i, n in enumerate(_SLOW)}
    items.sort(key=lambda it: rank.get(it.path.name, len(_SLOW)))
    if config.pluginmanager.hasplugin("xdist"):
        for it in items:
            it.add_marker(pytest.mark.xdist_group(_group(it)))
