"""Type-check the esp32 adapter against the published MicroPython ESP32 stubs (mypy).

The esp32 adapter cannot run here; this is how it is checked instead.

micropython-esp32-stubs installs bare top-level `machine.pyi`, `time.pyi`, ... into
site-packages, which mypy ignores (they are not PEP 561 packages), and CPython's own typeshed
would answer for `time`, `gc` and `asyncio` (no ticks_ms, no sleep_ms). So this tool assembles a
MicroPython typeshed under build/mp-typeshed: the stdlib of micropython-stdlib-stubs plus every
top-level stub of the esp32 package, and runs mypy with --custom-typeshed-dir on it. No
--ignore-missing-imports: a module without a stub is an error, so the stubs are really used.
"""
import os
import shutil
import subprocess
import sys
import sysconfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = [os.path.join("firmware", "faxbridge", "ports", "esp32")]


def build_typeshed(out):
    sp = sysconfig.get_paths()["purelib"]
    std = os.path.join(sp, "stdlib")
    if not os.path.isfile(os.path.join(std, "VERSIONS")) or not os.path.isfile(os.path.join(sp, "machine.pyi")):
        sys.exit("typecheck: micropython-esp32-stubs / micropython-stdlib-stubs not installed in %s" % sp)
    shutil.rmtree(out, ignore_errors=True)
    dst = os.path.join(out, "stdlib")
    os.makedirs(dst)
    for name in os.listdir(std):
        if name != "VERSIONS":
            os.symlink(os.path.join(std, name), os.path.join(dst, name))
    with open(os.path.join(std, "VERSIONS")) as f:
        versions = f.read()
    known = set(line.split(":")[0].strip() for line in versions.splitlines() if ":" in line)
    extra = []
    for name in sorted(os.listdir(sp)):
        mod = name[:-4] if name.endswith(".pyi") else (name if name == "_mpy_shed" else None)
        if mod is None or os.path.exists(os.path.join(dst, name)):
            continue
        os.symlink(os.path.join(sp, name), os.path.join(dst, name))
        if mod not in known:
            extra.append("%s: 3.0-" % mod)
    with open(os.path.join(dst, "VERSIONS"), "w") as f:
        f.write(versions.rstrip("\n") + "\n" + "\n".join(extra) + "\n")
    stubs = os.path.join(sp, "stubs")
    if os.path.isdir(stubs):
        os.symlink(stubs, os.path.join(out, "stubs"))
    return out


def main():
    files = []
    for t in TARGETS:
        for dp, _dn, fns in os.walk(os.path.join(ROOT, t)):
            files += [os.path.join(dp, f) for f in sorted(fns) if f.endswith(".py")]
    if not files:
        print("typecheck: nothing to check yet")
        return 0
    typeshed = build_typeshed(os.path.join(ROOT, "build", "mp-typeshed"))
    cmd = [sys.executable, "-m", "mypy", "--no-error-summary", "--follow-imports=silent",
           "--python-version", "3.11", "--custom-typeshed-dir", typeshed,
           "--cache-dir", os.path.join(ROOT, "build", "mypy-cache")] + files
    env = dict(os.environ, MYPYPATH=os.path.join(ROOT, "firmware"))
    r = subprocess.run(cmd, cwd=ROOT, env=env)
    print("typecheck: mypy on %d esp32 adapter modules against the MicroPython ESP32 stubs: %s"
          % (len(files), "ok" if r.returncode == 0 else "FAILED"))
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
