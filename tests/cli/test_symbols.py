"""libconv1d.so exports its public API (include/conv1d.h, CONV1D_API) and nothing else: no store, registry,
variant or test-hook symbol leaks into a program that links it."""
import os
import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOL = pathlib.Path(os.environ.get("CONV1D_TUNE", str(ROOT / "build" / "bin" / "conv1d-tune")))
LIB = TOOL.parent.parent / "lib" / "libconv1d.so"


def exported():
    r = subprocess.run(["nm", "-D", "--defined-only", str(LIB)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return {line.split()[-1] for line in r.stdout.splitlines() if line.strip()}


def declared():
    header = (ROOT / "include" / "conv1d.h").read_text()
    return set(re.findall(r"CONV1D_API [^;(]*?\b(conv1d_\w+)\(", header))


def test_only_the_public_api_is_exported():
    syms = exported()
    # The linker's own markers are not the library's.
    syms -= {"_init", "_fini", "__bss_start", "_edata", "_end"}
    assert syms, "nothing exported"
    assert all(s.startswith("conv1d_") for s in syms), sorted(s for s in syms if not s.startswith("conv1d_"))
    assert syms == declared(), (sorted(syms - declared()), sorted(declared() - syms))
