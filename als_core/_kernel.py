"""The compiled half-step kernel: build it once per machine, load it, call it.

Why a C kernel: the numpy solver (``_solve``) spends half its time outside arithmetic (gathering
rows into blocks, numpy's batched LU at ~17 µs per 50 x 50 system, per-chunk Python) and computes
the whole Gram matrix although it is symmetric. ``_kernel_body.h`` does each row in one pass
with no gathering: the upper triangle of the Gram matrix and the right-hand side in register
tiles straight from the fixed factors, a vectorised Cholesky, the two triangular solves, and the
exact data term. On 2 cores at MovieLens-1M shape and k = 50 that is ~2.7x the numpy solver
(benchmarks/README.md, "Speed of the exact fit").

How: the first use on a machine compiles ``_kernel.c`` with the system C compiler
(``$CC``, else ``cc``, ``gcc`` or ``clang``) for this CPU (``-march=native``), about half a
second, into a per-user cache keyed by the source, the compiler, the flags and the CPU, so a
changed kernel, a different machine or a copied home directory never loads a stale or foreign
build. Without a compiler, or if compiling fails, the library says so once (a RuntimeWarning)
and uses the numpy solver: same results, about a third of the speed.
``ALS_CORE_ENGINE=numpy`` skips the kernel altogether.

The library depends on no build step this way (the repository runs as checked out) and on no
extra package; numba was measured too (benchmarks/README.md) and did not reach the targets.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np

SOURCE_DIR = Path(__file__).resolve().parent
SOURCES = ("_kernel.c", "_kernel_body.h")
FLAG_SETS = (
    ["-O3", "-march=native", "-shared", "-fPIC"],
    ["-O3", "-shared", "-fPIC"],  # a compiler without -march=native (e.g. some clang builds)
)
COMPILE_TIMEOUT_SECONDS = 120

_lock = threading.Lock()
_state: dict[str, object] = {}


class KernelUnavailable(RuntimeError):
    """The compiled kernel could not be built or loaded (the message says why)."""


def engine_setting() -> str:
    """``ALS_CORE_ENGINE``: "auto" (default), "compiled" or "numpy"."""
    value = os.environ.get("ALS_CORE_ENGINE", "auto").strip().lower() or "auto"
    if value not in ("auto", "compiled", "numpy"):
        raise ValueError(f"ALS_CORE_ENGINE must be auto, compiled or numpy, got {value!r}")
    return value


def available() -> bool:
    """True if the compiled kernel is built and loaded (building it now if needed)."""
    try:
        load()
    except KernelUnavailable:
        return False
    return True


def describe() -> str:
    """One line for benchmarks and logs: which engine runs the half-steps, and why."""
    if engine_setting() == "numpy":
        return "numpy solver (ALS_CORE_ENGINE=numpy)"
    try:
        lib = load()
    except KernelUnavailable as exc:
        return f"numpy solver (compiled kernel unavailable: {exc})"
    return f"compiled C kernel ({_state['flags']}, {Path(lib._name).name})"


def load() -> ctypes.CDLL:
    """The loaded kernel library; builds it on first use. Raises KernelUnavailable."""
    with _lock:
        if "lib" in _state:
            return _state["lib"]  # type: ignore[return-value]
        if "error" in _state:
            raise KernelUnavailable(_state["error"])
        try:
            lib, flags = _build_and_load()
        except KernelUnavailable as exc:
            _state["error"] = str(exc)
            warnings.warn(
                f"als_core: using the numpy solver (about 3x slower than the C kernel): {exc}",
                RuntimeWarning,
                stacklevel=3,
            )
            raise
        _state["lib"], _state["flags"] = lib, " ".join(flags)
        return lib


def _build_and_load() -> tuple[ctypes.CDLL, list[str]]:
    compiler = _find_compiler()
    sources = b"".join((SOURCE_DIR / name).read_bytes() for name in SOURCES)
    errors = []
    for flags in FLAG_SETS:
        key = _cache_key(sources, compiler, flags)
        path = _cache_dir() / f"als_kernel_{key}{_suffix()}"
        if not path.exists():
            try:
                _compile(compiler, flags, path)
            except KernelUnavailable as exc:
                errors.append(str(exc))
                continue
        try:
            return _declare(ctypes.CDLL(str(path))), flags
        except OSError as exc:
            errors.append(f"could not load {path}: {exc}")
    raise KernelUnavailable("; ".join(errors))


def _find_compiler() -> str:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name.split()[0]):
            return name
    raise KernelUnavailable("no C compiler found (set CC, or install gcc or clang)")


def _cache_dir() -> Path:
    """``$ALS_CORE_KERNEL_DIR``, else the user's cache folder, else a private temporary folder.

    The library loads native code from here, so a folder is used only if this user owns it
    and no one else can write to it (a shared /tmp must not let another account plant a
    library under the expected name).
    """
    if os.environ.get("ALS_CORE_KERNEL_DIR"):
        folder = Path(os.environ["ALS_CORE_KERNEL_DIR"])
        problem = _unsafe(folder)
        if problem:
            raise KernelUnavailable(f"ALS_CORE_KERNEL_DIR={folder} cannot be used: {problem}")
        return folder
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    user = getattr(os, "getuid", lambda: "user")()
    candidates = [Path(base) / "als-explorer", Path(tempfile.gettempdir()) / f"als-explorer-{user}"]
    problems = []
    for folder in candidates:
        problem = _unsafe(folder)
        if not problem:
            return folder
        problems.append(f"{folder}: {problem}")
    raise KernelUnavailable("no private writable cache folder (" + "; ".join(problems) + ")")


def _unsafe(folder: Path) -> str | None:
    """Why ``folder`` (created if missing) may not hold the kernel, or None if it may."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError as exc:
        return f"cannot create it ({exc.strerror or exc})"
    if not os.access(folder, os.W_OK):
        return "not writable"
    if hasattr(os, "getuid"):
        if info.st_uid != os.getuid():
            return "owned by another user"
        if info.st_mode & 0o022:
            return "writable by other users (chmod go-w it)"
    return None


def _cache_key(sources: bytes, compiler: str, flags: list[str]) -> str:
    digest = hashlib.sha256(sources)
    for part in (compiler, " ".join(flags), _compiler_version(compiler), _cpu_signature()):
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()[:20]


def _compiler_version(compiler: str) -> str:
    try:
        done = subprocess.run(
            [*compiler.split(), "--version"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def _cpu_signature() -> str:
    """What -march=native depends on: the CPU's model and feature flags."""
    parts = [platform.machine(), platform.processor()]
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return " ".join(parts)
    for line in text.splitlines():
        if line.split(":")[0].strip() in ("model name", "flags", "Features", "CPU part"):
            parts.append(line)
            if len(parts) >= 4:
                break
    return " ".join(parts)


def _suffix() -> str:
    return ".dll" if sys.platform == "win32" else ".dylib" if sys.platform == "darwin" else ".so"


def _compile(compiler: str, flags: list[str], target: Path) -> None:
    """Compile into a temporary file beside ``target``, then rename: concurrent builders
    (two processes starting at once) never see a half-written library."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".building-", suffix=_suffix())
    os.close(fd)
    command = [*compiler.split(), *flags, "-o", tmp, str(SOURCE_DIR / "_kernel.c")]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_SECONDS
        )
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise KernelUnavailable(f"{' '.join(command[:3])} … failed: {' '.join(detail)}")
        os.replace(tmp, target)
    except (OSError, subprocess.SubprocessError) as exc:
        raise KernelUnavailable(f"could not run the C compiler {compiler!r}: {exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# The kernel's exported variants: name -> (dtype, lanes per vector).
VARIANTS = {
    "f64": (np.dtype(np.float64), 8),
    "f32": (np.dtype(np.float32), 16),
    "f32_narrow": (np.dtype(np.float32), 8),
}
TILE_ROWS = 8  # rows of the Gram matrix per register tile (TILE_ROWS in _kernel_body.h)


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    pointer, integer = ctypes.c_void_p, ctypes.c_int64
    for variant in VARIANTS:
        fn = getattr(lib, f"solve_rows_{variant}")
        fn.restype = integer
        fn.argtypes = [pointer] * 4 + [integer, integer] + [pointer] * 2 + [integer]
        fn.argtypes += [pointer] * 3
    return lib


# --------------------------------------------------------------------------------- calling
def padded_width(width: int, lanes: int) -> int:
    return -(-width // lanes) * lanes


def tile_vectors(width: int, lanes: int) -> int:
    """Vector multiply-adds per observation in the Gram tiles (the kernel's main cost)."""
    wp = padded_width(width, lanes)
    return sum((wp - (a0 - a0 % lanes)) // lanes * TILE_ROWS for a0 in range(0, wp, TILE_ROWS))


def choose_variant(dtype: np.dtype, width: int) -> str:
    """The variant for this dtype and width: float32 takes half-width vectors when they need
    no more vector operations (k = 20: 24 columns instead of 32; measured 1.25x faster), and
    full-width ones otherwise (k = 50: 1.15x faster than half-width)."""
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        return "f64"
    if dtype != np.float32:
        raise ValueError(f"the compiled kernel has float64 and float32, not {dtype}")
    return "f32_narrow" if tile_vectors(width, 8) <= tile_vectors(width, 16) else "f32"


def pad_factors(fixed: np.ndarray, variant: str) -> np.ndarray:
    """The fixed factors with zero columns up to a whole number of vectors, C-contiguous."""
    n, width = fixed.shape
    dtype, lanes = VARIANTS[variant]
    padded = np.zeros((n, padded_width(width, lanes)), dtype=dtype)
    padded[:, :width] = fixed
    return padded


def solve_stripe(
    lib: ctypes.CDLL,
    variant: str,
    indptr: np.ndarray,
    indices: np.ndarray,
    targets: np.ndarray,
    padded: np.ndarray,
    width: int,
    lam: np.ndarray,
    rows: np.ndarray,
    out: np.ndarray,
    data_terms: np.ndarray,
) -> np.ndarray:
    """Solve ``rows`` into ``out`` and ``data_terms``; return the rows that were not positive
    definite (left untouched, for the caller to solve another way).

    ctypes releases the GIL for the call, so stripes run in parallel on Python threads.
    Arrays must be C-contiguous with the kernel's types (int64 indptr and rows, int32 indices,
    the variant's dtype for targets, lam, ``padded`` (from ``pad_factors``) and out, float64
    data terms).
    """
    dtype, _ = VARIANTS[variant]
    for name, array in (("targets", targets), ("padded", padded), ("lam", lam), ("out", out)):
        if array.dtype != dtype or not array.flags.c_contiguous:
            raise TypeError(f"{name} must be a C-contiguous {dtype} array for {variant}")
    fn = getattr(lib, f"solve_rows_{variant}")
    failed = np.empty(len(rows), dtype=np.int64)
    count = fn(
        indptr.ctypes.data,
        indices.ctypes.data,
        targets.ctypes.data,
        padded.ctypes.data,
        padded.shape[1],
        width,
        lam.ctypes.data,
        rows.ctypes.data,
        len(rows),
        out.ctypes.data,
        data_terms.ctypes.data,
        failed.ctypes.data,
    )
    if count < 0:
        raise MemoryError("the compiled kernel could not allocate its workspace")
    return failed[:count]
