"""Finding and binding libconv1d (include/conv1d.h) with ctypes.

Where the library is looked for, first match wins:
  1. $CONV1D_LIB: the library file (or a folder holding libconv1d.so); when set, nothing else is tried;
  2. the source tree this package sits in (python/ of a checkout, or `pip install -e ./python`):
     <tree>/build/lib/libconv1d.so, as `make` builds it;
  3. the source tree an installed copy came from (`pip install ./python`, `make python`: recorded by setup.py);
  4. an installed library: the dynamic loader's search (LD_LIBRARY_PATH, ldconfig: `make install` into
     /usr/local), then pkg-config's libdir of `conv1d` (PKG_CONFIG_PATH=<prefix>/lib/pkgconfig).
The sanitized build (build-san/) is never picked up by 2-3: an AddressSanitizer library cannot be loaded
into a Python that was not started with the sanitizer runtime.

ctypes releases the GIL for the duration of every call into the library (a CDLL, not a PyDLL), so an
execute on one thread lets other Python threads run, including other executes of the same plan."""
import ctypes
import os
import pathlib
import shutil
import subprocess
import threading

ENV_VAR = "CONV1D_LIB"
SONAME = "libconv1d.so.0"
LAYOUTS = {"nwc": 0, "ncw": 1}
MODES = {"db": 0, "measure": 1, "estimate": 2}
DEVICE_CPU = 0
# CONV1D_STATUS_MAP of include/conv1d.h: numbers are never reused, so a name table is safe to keep here.
STATUS_NAMES = {0: "OK", 1: "INVALID_ARGUMENT", 2: "UNSUPPORTED", 3: "OUT_OF_MEMORY", 4: "PARSE_ERROR",
                5: "IO_ERROR", 6: "NOT_FOUND", 7: "DEVICE_ERROR", 8: "DB_ERROR", 9: "INTERNAL"}
ABI_MAJOR = 0  # CONV1D_VERSION_MAJOR this binding was written for


class Conv1dError(RuntimeError):
    """A libconv1d call failed: .status is the status name (INVALID_ARGUMENT, ...), the message the library's
    sentence saying what, which field and which value."""

    def __init__(self, status, message):
        self.status = STATUS_NAMES.get(status, str(status)) if isinstance(status, int) else status
        super().__init__(message)


class LibraryNotFoundError(Conv1dError):
    """libconv1d could not be found or loaded; the message lists every place tried and why it failed."""

    def __init__(self, message):
        Conv1dError.__init__(self, "NOT_FOUND", message)


class CDesc(ctypes.Structure):
    """struct conv1d_desc."""
    _fields_ = [("batch", ctypes.c_int64), ("length", ctypes.c_int64), ("in_channels", ctypes.c_int64),
                ("out_channels", ctypes.c_int64), ("kernel_size", ctypes.c_int64), ("stride", ctypes.c_int64),
                ("pad_left", ctypes.c_int64), ("pad_right", ctypes.c_int64), ("dilation", ctypes.c_int64),
                ("num_groups", ctypes.c_int64), ("has_bias", ctypes.c_int), ("layout", ctypes.c_int),
                ("dtype", ctypes.c_int)]


class Options(ctypes.Structure):
    """struct conv1d_options."""
    _fields_ = [("db_path", ctypes.c_char_p), ("threads", ctypes.c_int), ("device", ctypes.c_int),
                ("mode", ctypes.c_int), ("cuda_stream", ctypes.c_void_p)]


_PROTOTYPES = {
    # name: (restype, argtypes)
    "conv1d_version_number": (ctypes.c_uint, []),
    "conv1d_version_string": (ctypes.c_char_p, []),
    "conv1d_status_string": (ctypes.c_char_p, [ctypes.c_int]),
    "conv1d_last_error": (ctypes.c_char_p, []),
    "conv1d_desc_init": (None, [ctypes.POINTER(CDesc)]),
    "conv1d_desc_validate": (ctypes.c_int, [ctypes.POINTER(CDesc)]),
    "conv1d_output_length": (ctypes.c_int64, [ctypes.POINTER(CDesc)]),
    "conv1d_desc_parse": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(CDesc)]),
    "conv1d_desc_format": (ctypes.c_size_t, [ctypes.POINTER(CDesc), ctypes.c_char_p, ctypes.c_size_t]),
    "conv1d_desc_flops": (ctypes.c_double, [ctypes.POINTER(CDesc)]),
    "conv1d_desc_min_bytes": (ctypes.c_double, [ctypes.POINTER(CDesc)]),
    "conv1d_options_init": (ctypes.c_int, [ctypes.POINTER(Options)]),
    "conv1d_plan_create": (ctypes.c_int, [ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(CDesc),
                                          ctypes.POINTER(Options)]),
    # Pointers travel as plain integers (c_void_p): the fastest conversion ctypes has.
    "conv1d_plan_set_weights": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]),
    "conv1d_execute": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]),
    "conv1d_plan_variant": (ctypes.c_char_p, [ctypes.c_void_p]),
    "conv1d_plan_explain": (ctypes.c_char_p, [ctypes.c_void_p]),
    "conv1d_plan_destroy": (None, [ctypes.c_void_p]),
}
# Bound where the library has them; a library built before they existed is still usable without them.
_OPTIONAL_PROTOTYPES = {
    "conv1d_dtype_name": (ctypes.c_char_p, [ctypes.c_int]),
}
DESC_TEXT_MAX = 320  # CONV1D_DESC_TEXT_MAX


def _tree_candidates():
    """(what, path) for the in-tree library of 2. and 3. above."""
    out = []
    here = pathlib.Path(__file__).resolve().parent.parent.parent
    if (here / "include" / "conv1d.h").is_file():
        out.append(("this source tree", here / "build" / "lib" / "libconv1d.so"))
    try:
        from ._source_tree import SOURCE_TREE
    except ImportError:
        SOURCE_TREE = None
    if SOURCE_TREE and pathlib.Path(SOURCE_TREE).resolve() != here:
        out.append(("the source tree this package was installed from",
                    pathlib.Path(SOURCE_TREE) / "build" / "lib" / "libconv1d.so"))
    return out


def _pkg_config_libdir():
    if not shutil.which("pkg-config"):
        return None
    try:
        r = subprocess.run(["pkg-config", "--variable=libdir", "conv1d"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else None


def _load():
    tried = []

    def attempt(what, path):
        try:
            return ctypes.CDLL(str(path))
        except OSError as e:
            tried.append(f"{what} {path}: {e}")
            return None

    env = os.environ.get(ENV_VAR)
    if env:
        p = pathlib.Path(env)
        if p.is_dir():
            p = p / "libconv1d.so"
        lib = attempt(f"${ENV_VAR}", p)
        if lib is None:
            raise LibraryNotFoundError(f"cannot load libconv1d from ${ENV_VAR}={env} ({tried[0].split(': ', 1)[1]}); "
                                       f"set {ENV_VAR} to the library file (e.g. <tree>/build/lib/libconv1d.so) "
                                       f"or unset it to search the source tree and the installed library")
        return lib, str(p)
    for what, path in _tree_candidates():
        if path.exists():
            lib = attempt(what, path)
            if lib is not None:
                return lib, str(path)
        else:
            tried.append(f"{what}: {path} does not exist (run `make` there)")
    lib = attempt("the installed library", SONAME)
    if lib is not None:
        return lib, SONAME
    libdir = _pkg_config_libdir()
    if libdir:
        path = pathlib.Path(libdir) / SONAME
        lib = attempt("pkg-config conv1d's libdir:", path)
        if lib is not None:
            return lib, str(path)
    else:
        tried.append("pkg-config knows no conv1d package (set PKG_CONFIG_PATH=<prefix>/lib/pkgconfig after "
                     "`make install PREFIX=<prefix>`)")
    raise LibraryNotFoundError("libconv1d not found. Build it with `make` in the source tree, install it with "
                               f"`make install`, or set {ENV_VAR}=/path/to/libconv1d.so. Tried: "
                               + "; ".join(tried))


_lock = threading.Lock()
_lib = None
_path = None


def lib():
    """The loaded library with its prototypes set (loaded on first use; LibraryNotFoundError if it cannot be)."""
    global _lib, _path
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            handle, path = _load()
            missing = [n for n in _PROTOTYPES if not hasattr(handle, n)]
            if missing:
                raise LibraryNotFoundError(f"{path} is not a usable libconv1d: it lacks {', '.join(missing)}")
            for name, (res, args) in (*_PROTOTYPES.items(), *_OPTIONAL_PROTOTYPES.items()):
                fn = getattr(handle, name, None)
                if fn is not None:
                    fn.restype, fn.argtypes = res, args
            major = handle.conv1d_version_number() // 10000
            if major != ABI_MAJOR:
                raise LibraryNotFoundError(f"{path} is libconv1d {handle.conv1d_version_string().decode()}, but this "
                                           f"package binds major version {ABI_MAJOR}")
            _path = path
            _lib = handle
    return _lib


def library_path():
    """Where the loaded libconv1d came from (loading it if needed)."""
    lib()
    return _path


def version():
    """libconv1d's version string, e.g. "0.1.0"."""
    return lib().conv1d_version_string().decode()


def has_dtype(value):
    """Whether the loaded library computes conv1d_dtype value: it names it (conv1d_dtype_name). A library from
    before the 16-bit types has no such function, or returns NULL for them: float32 only."""
    if value == 0:
        return True
    fn = getattr(lib(), "conv1d_dtype_name", None)
    return fn is not None and fn(value) is not None


def last_error():
    return (lib().conv1d_last_error() or b"").decode("utf-8", "replace")


def check(status, what):
    """Raises Conv1dError for a failed call; the message is the library's sentence (or what failed)."""
    if status != 0:
        msg = last_error() or f"{what} failed"
        raise Conv1dError(status, msg)
