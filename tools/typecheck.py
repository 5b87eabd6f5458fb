"""Type-check the esp32 adapter against the published MicroPython ESP32 stubs (mypy).

The esp32 adapter cannot run here; this is how it is checked instead.
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = [os.path.join("firmware", "faxbridge", "ports", "esp32")]


def main():
    files = []
    for t in TARGETS:
        for dp, _dn, fns in os.walk(os.path.join(ROOT, t)):
            files += [os.path.join(dp, f) for f in sorted(fns) if f.endswith(".py")]
    if not files:
        print("typecheck: nothing to check yet")
        return 0
    cmd = [sys.executable, "-m", "mypy", "--no-error-summary", "--ignore-missing-imports",
           "--follow-imports=silent", "--python-version", "3.11"] + files
    env = dict(os.environ, MYPYPATH=os.path.join(ROOT, "firmware"))
    r = subprocess.run(cmd, cwd=ROOT, env=env)
    print("typecheck: mypy on %d esp32 adapter modules: %s" % (len(files), "ok" if r.returncode == 0 else "FAILED"))
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
