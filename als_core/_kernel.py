"""The compiled half-step kernel: build it once per machine, check it, load it, call it.

Why a C kernel: the numpy solver (``_solve``) spends half its time outside arithmetic (gathering
rows into blocks, numpy's batched LU at ~17 µs per 50 x 50 system, per-chunk Python) and computes
the whole Gram matrix although it is symmetric. ``_kernel_body.h`` does each row in one pass
with no gathering: the upper triangle of the Gram matrix and the right-hand side in register
tiles straight from the fixed factors, a vectorised Cholesky, the two triangular solves, and the
exact data term (benchmarks/README.md, "Speed of the exact fit").

How: the first use on a machine compiles ``_kernel.c`` with the system C compiler (``$CC``,
else ``cc``, ``gcc`` or ``clang``; GCC and clang both work) for this CPU (``-march=native``)
into a per-user cache keyed by the source, the flags, the CPU and the compiler, so a changed
kernel, a different machine or a copied home directory never loads a stale or foreign build.

Trust: native code runs as soon as it is loaded (constructors), so nothing is loaded unchecked.
Each build's SHA-256 is recorded beside it (``<library>.sha256``, written atomically after the
library); a cached library is loaded only if its bytes match, and from a private copy of exactly
the bytes that were checked. A library that fails the check, cannot be loaded or lacks the
kernel's functions is rebuilt once; if that fails too the library warns once (a
RuntimeWarning) and uses the numpy solver: same results, about a third of the speed. A cached
build is used even where no compiler is installed. ``ALS_CORE_ENGINE=numpy`` skips the kernel
altogether.

Cold start: compiling takes seconds, so it never happens on the caller's thread. The first
request (``prepare()``, which the app and the CLI call at start, or the first half-step) looks
for a verified cached build, which takes milliseconds, and otherwise compiles in a background
thread; half-steps run on the numpy solver until the kernel is ready (``current()``), and on
the kernel from then on. ``load()`` waits for it (``engine="compiled"``, benchmarks, tests).

The library depends on no build step this way (the repository runs as checked out) and on no
extra package; numba was measured too (benchmarks/README.md) and did not reach the targets.
"""

from __future__ import annotations

import atexit
import contextlib
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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SOURCE_DIR = Path(__file__).resolve().parent
SOURCES = ("_kernel.c", "_kernel_body.h")
FLAG_SETS = (
    ["-O3", "-march=native", "-shared", "-fPIC"],
    ["-O3", "-shared", "-fPIC"],  # a compiler without -march=native (e.g. some clang builds)
)
COMPILE_TIMEOUT_SECONDS = 120
HASH_SUFFIX = ".sha256"
SLOWER = "about 3x slower than the C kernel"


class KernelUnavailable(RuntimeError):
    """The compiled kernel could not be built or loaded (the message says why)."""


@dataclass(frozen=True)
class Kernel:
    """A loaded kernel library whose bytes matched their recorded SHA-256, and its layout.

    The vector width and the Gram tile follow the CPU it was built for (``_kernel.c``): rows
    go to it padded to whole vectors and whole tiles.
    """

    lib: ctypes.CDLL
    path: Path  # the cached file it was loaded from
    flags: str
    lanes: dict[str, int]  # numbers per vector, for each variant
    tile_rows: int  # Gram rows per register tile

    def unit(self, variant: str) -> int:
        """Rows of ``variant`` are padded to a multiple of this (lanes and tile rows are
        powers of two, so the larger is a multiple of both)."""
        return max(self.lanes[variant], self.tile_rows)

    def choose_variant(self, dtype: np.dtype, width: int) -> str:
        """float64, or the float32 variant whose Gram tiles need fewer vector operations.

        Half-width float32 vectors win where the full ones would mostly pad (on AVX-512, k = 20
        pads to 24 columns instead of 32: measured 1.25x faster) and lose elsewhere (k = 50:
        1.15x slower); ties go to half-width.
        """
        dtype = np.dtype(dtype)
        if dtype == np.float64:
            return "f64"
        if dtype != np.float32:
            raise ValueError(f"the compiled kernel has float64 and float32, not {dtype}")
        narrow, full = self.tile_work("f32_narrow", width), self.tile_work("f32", width)
        return "f32_narrow" if narrow <= full else "f32"

    def tile_work(self, variant: str, width: int) -> int:
        """Vector multiply-adds per observation in ``variant``'s Gram tiles at ``width``."""
        return tile_vectors(width, self.unit(variant), self.lanes[variant], self.tile_rows)

    def pad(self, fixed: np.ndarray, variant: str) -> np.ndarray:
        """The fixed factors with zero columns up to a whole unit, C-contiguous."""
        n, width = fixed.shape
        padded = np.zeros((n, padded_width(width, self.unit(variant))), dtype=VARIANTS[variant])
        padded[:, :width] = fixed
        return padded


@dataclass
class _State:
    """What this process knows about its kernel; one per process (tests swap in fresh ones)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    started: bool = False
    looked_up: threading.Event = field(default_factory=threading.Event)  # cache checked
    finished: threading.Event = field(default_factory=threading.Event)  # kernel or error
    kernel: Kernel | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # trouble met (and mended) on the way
    warned: bool = False


_state = _State()


# --------------------------------------------------------------------------------- engine
def engine_setting() -> str:
    """``ALS_CORE_ENGINE``: "auto" (default), "compiled" or "numpy"."""
    value = os.environ.get("ALS_CORE_ENGINE", "auto").strip().lower() or "auto"
    if value not in ("auto", "compiled", "numpy"):
        raise ValueError(f"ALS_CORE_ENGINE must be auto, compiled or numpy, got {value!r}")
    return value


def prepare() -> None:
    """Start getting the compiled kernel ready in the background (``ac.prepare_engine``).

    Returns at once and never raises: a verified cached build is loaded (milliseconds), else
    the kernel is compiled in a background thread (seconds, once per machine) while the
    caller goes on; until it is ready, half-steps run on the numpy engine. The app and the
    command line call it at start. Does nothing under ``ALS_CORE_ENGINE=numpy``.

    Returns
    -------
    None

    Examples
    --------
    >>> import als_core as ac
    >>> ac.prepare_engine()  # returns at once
    >>> ac.solver_engine().startswith(("compiled C kernel", "numpy solver"))
    True
    """
    if engine_setting() != "numpy":
        _start(_state)


def current() -> Kernel | None:
    """The kernel if it is ready now, else None (the numpy solver takes this half-step).

    Never waits for the compiler: the first call looks for a verified cached build
    (milliseconds) and otherwise starts the build in the background. Warns once per process if
    the kernel cannot be had, or had to be rebuilt.
    """
    state = _state
    _start(state)
    state.looked_up.wait()
    _warn_once(state)
    return state.kernel


def load() -> Kernel:
    """The kernel, waiting for a build in progress. Raises KernelUnavailable."""
    state = _state
    _start(state)
    state.finished.wait()
    _warn_once(state)
    if state.kernel is None:
        raise KernelUnavailable(state.error or "the kernel build did not finish")
    return state.kernel


def available() -> bool:
    """True if the compiled kernel is built and loaded (waiting for it if it is building)."""
    try:
        load()
    except KernelUnavailable:
        return False
    return True


def describe() -> str:
    """Which engine solves half-steps now, and why (``ac.solver_engine``); never waits.

    Returns
    -------
    str
        "compiled C kernel (flags, file)", "numpy solver while the compiled kernel builds
        (...)", "numpy solver (compiled kernel unavailable: why)" or "numpy solver
        (ALS_CORE_ENGINE=numpy)".

    Examples
    --------
    >>> import als_core as ac
    >>> ac.solver_engine().startswith(("compiled C kernel", "numpy solver"))
    True
    """
    if engine_setting() == "numpy":
        return "numpy solver (ALS_CORE_ENGINE=numpy)"
    kernel = current()
    if kernel is not None:
        return f"compiled C kernel ({kernel.flags}, {kernel.path.name})"
    if _state.error is not None:
        return f"numpy solver (compiled kernel unavailable: {_state.error})"
    return "numpy solver while the compiled kernel builds (it takes over when ready)"


def _start(state: _State) -> None:
    with state.lock:
        if state.started:
            return
        state.started = True
    threading.Thread(target=_get_ready, args=(state,), name="als-kernel", daemon=True).start()


def _warn_once(state: _State) -> None:
    """One RuntimeWarning per process, in the caller's thread, once the outcome is known."""
    if state.warned or not (state.error or (state.notes and state.finished.is_set())):
        return
    with state.lock:
        if state.warned:
            return
        state.warned = True
    if state.error is not None:
        message = f"als_core: using the numpy solver ({SLOWER}): {state.error}"
    else:
        message = "als_core: rebuilt the compiled kernel: " + "; ".join(state.notes)
    warnings.warn(message, RuntimeWarning, stacklevel=3)


# --------------------------------------------------------------------------------- building
def _get_ready(state: _State) -> None:
    """The background job: a verified cached build, else compile one (each at most once)."""
    try:
        compiler = _find_compiler()
        builds = _candidates(compiler)
        kernel = _load_cached(builds, state.notes)
        if kernel is None:
            if compiler is None:
                raise KernelUnavailable(
                    "; ".join(
                        [*state.notes, "no C compiler found (set CC, or install gcc or clang)"]
                    )
                )
            state.looked_up.set()  # callers go on with numpy while this compiles
            kernel = _compile_and_load(compiler, builds, state.notes)
        state.kernel = kernel
    except KernelUnavailable as exc:
        state.error = str(exc)
    except Exception as exc:  # never let a surprise end the app: numpy still works
        state.error = f"unexpected {type(exc).__name__}: {exc}"
    finally:
        state.finished.set()
        state.looked_up.set()


def _candidates(compiler: str | None) -> list[tuple[list[str], Path]]:
    """(flags, cached file) in the order to try them.

    With a compiler: this compiler's build for each flag set. Without one: any cached build of
    this source for this CPU, newest first (whichever compiler made it).
    """
    folder = _cache_dir()
    sources = b"".join((SOURCE_DIR / name).read_bytes() for name in SOURCES)
    found = []
    for flags in FLAG_SETS:
        stem = f"als_kernel_{_source_key(sources, flags)}_"
        if compiler is not None:
            found.append((flags, folder / f"{stem}{_compiler_key(compiler)}{_suffix()}"))
            continue
        cached = [p for p in folder.glob(f"{stem}*{_suffix()}") if not p.name.startswith(".")]
        for path in sorted(cached, key=_mtime, reverse=True):
            found.append((flags, path))
    return found


def _load_cached(builds: list[tuple[list[str], Path]], notes: list[str]) -> Kernel | None:
    for flags, path in builds:
        if not path.exists():
            continue
        try:
            return _load_verified(path, flags)
        except KernelUnavailable as exc:
            notes.append(str(exc))
    return None


def _compile_and_load(
    compiler: str, builds: list[tuple[list[str], Path]], notes: list[str]
) -> Kernel:
    """Build each flag set in turn (replacing a cached file that failed), load the first."""
    errors = []
    for flags, path in builds:
        try:
            # The bytes just built, not the file: another process may be replacing it.
            return _load_bytes(_compile(compiler, flags, path), path, flags)
        except KernelUnavailable as exc:
            errors.append(str(exc))
    raise KernelUnavailable("; ".join(notes + errors))


def _find_compiler() -> str | None:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and name.split() and shutil.which(name.split()[0]):
            return name
    return None


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


def _source_key(sources: bytes, flags: list[str]) -> str:
    """What the machine code depends on apart from the compiler: source, flags and CPU."""
    digest = hashlib.sha256(sources)
    for part in (" ".join(flags), _cpu_signature()):
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()[:16]


def _compiler_key(compiler: str) -> str:
    """The compiler's identity without running it (its name, and the file it resolves to).

    Running ``cc --version`` can take long (on macOS without developer tools it offers to
    install them), and the cache is looked up before every first fit.
    """
    digest = hashlib.sha256(compiler.encode())
    found = shutil.which(compiler.split()[0])
    if found:
        real = os.path.realpath(found)
        digest.update(b"\0" + real.encode())
        try:
            info = os.stat(real)
            digest.update(f"\0{info.st_size}\0{info.st_mtime_ns}".encode())
        except OSError:
            pass
    return digest.hexdigest()[:8]


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


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _suffix() -> str:
    return ".dll" if sys.platform == "win32" else ".dylib" if sys.platform == "darwin" else ".so"


def _hash_file(path: Path) -> Path:
    return path.with_name(path.name + HASH_SUFFIX)


def _compile(compiler: str, flags: list[str], target: Path) -> bytes:
    """Compile into a temporary file beside ``target``, record its SHA-256, then rename both;
    return the library's bytes.

    Concurrent builders (two processes starting at once) never see a half-written file; the
    library is renamed first and its hash second, each after an fsync, so a crash in between
    leaves a library with an old or no hash: refused, and rebuilt.
    """
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
        data = Path(tmp).read_bytes()
        _fsync(tmp)
        os.replace(tmp, target)
        digest = hashlib.sha256(data).hexdigest()
        _write_atomically(_hash_file(target), f"{digest}  {target.name}\n")
        _fsync_folder(target.parent)
        return data
    except (OSError, subprocess.SubprocessError) as exc:
        raise KernelUnavailable(f"could not run the C compiler {compiler!r}: {exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".writing-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _fsync(path: str) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _recorded_hash(path: Path) -> str:
    try:
        text = _hash_file(path).read_text(encoding="ascii", errors="replace")
    except OSError:
        raise KernelUnavailable(f"{path.name} has no recorded SHA-256") from None
    digest = text.split()[0] if text.split() else ""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise KernelUnavailable(f"{path.name}'s recorded SHA-256 is malformed")
    return digest


def _load_verified(path: Path, flags: list[str]) -> Kernel:
    """Load ``path`` if its bytes match the recorded SHA-256; never run an unchecked byte.

    Exactly the checked bytes are loaded (``_load_bytes``): the cached file may change between
    the check and the load.
    """
    recorded = _recorded_hash(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KernelUnavailable(f"could not read {path.name}: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != recorded:
        raise KernelUnavailable(f"{path.name} does not match its recorded SHA-256")
    return _load_bytes(data, path, flags)


def _load_bytes(data: bytes, path: Path, flags: list[str]) -> Kernel:
    """Load a library's checked (or just built) bytes, cached at ``path``, from a private copy.

    A copy with a unique name: the dynamic loader hands back an earlier library loaded under
    the same name, so a rebuilt kernel would never replace a bad one loaded before.
    """
    fd, copy = tempfile.mkstemp(dir=path.parent, prefix=".loading-", suffix=_suffix())
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        lib = ctypes.CDLL(copy)
    except OSError as exc:
        raise KernelUnavailable(f"could not load {path.name}: {exc}") from exc
    finally:
        with contextlib.suppress(OSError):  # the image stays mapped; Windows keeps the file
            os.unlink(copy)
    try:
        lanes, tile_rows = _declare(lib)
    except AttributeError as exc:
        raise KernelUnavailable(f"{path.name} lacks the kernel's functions ({exc})") from None
    if any(n not in (2, 4, 8, 16) for n in lanes.values()) or tile_rows not in (4, 8):
        raise KernelUnavailable(f"{path.name} reports an unknown layout {lanes}, {tile_rows}")
    return Kernel(lib=lib, path=path, flags=" ".join(flags), lanes=lanes, tile_rows=tile_rows)


def _wait_for_build_at_exit() -> None:
    """Let a compile in flight finish at exit, so a short run still leaves the cache warm."""
    state = _state
    if state.started and state.looked_up.is_set():
        state.finished.wait(COMPILE_TIMEOUT_SECONDS)


atexit.register(_wait_for_build_at_exit)


# The kernel's exported variants: name -> dtype (their vector widths depend on the CPU).
VARIANTS = {
    "f64": np.dtype(np.float64),
    "f32": np.dtype(np.float32),
    "f32_narrow": np.dtype(np.float32),  # half-width vectors
}


def _declare(lib: ctypes.CDLL) -> tuple[dict[str, int], int]:
    """Declare the solvers' signatures; return the library's layout (lanes, tile rows)."""
    pointer, integer = ctypes.c_void_p, ctypes.c_int64
    lanes = {}
    for variant in VARIANTS:
        fn = getattr(lib, f"solve_rows_{variant}")
        fn.restype = integer
        fn.argtypes = [pointer] * 4 + [integer, integer] + [pointer] * 2 + [integer]
        fn.argtypes += [pointer] * 3
        count = getattr(lib, f"lanes_{variant}")
        count.restype, count.argtypes = integer, []
        lanes[variant] = int(count())
    tile_rows = lib.tile_rows
    tile_rows.restype, tile_rows.argtypes = integer, []
    return lanes, int(tile_rows())


# --------------------------------------------------------------------------------- calling
def padded_width(width: int, unit: int) -> int:
    return -(-width // unit) * unit


def tile_vectors(width: int, unit: int, lanes: int, tile_rows: int) -> int:
    """Vector multiply-adds per observation in the Gram tiles (the kernel's main cost): each
    block of ``tile_rows`` rows from the vector holding its diagonal to the padded end."""
    wp = padded_width(width, unit)
    return sum((wp - (a0 - a0 % lanes)) // lanes * tile_rows for a0 in range(0, wp, tile_rows))


@dataclass(frozen=True)
class HalfStep:
    """One half-step's arrays, checked against each other for the kernel: make it with
    ``HalfStep.checked``, then solve stripes of its rows with ``solve_stripe``.

    The kernel trusts every length and index it is given (checks inside it would cost time
    per observation), so a wrong array here would read or write outside memory: everything the
    C code relies on is checked once per half-step, here, and the rows of each stripe in
    ``solve_stripe``.
    """

    kernel: Kernel
    variant: str
    indptr: np.ndarray  # (n_rows + 1,) int64, non-decreasing
    indices: np.ndarray  # (≥ indptr[-1],) int32, each < padded.shape[0]
    targets: np.ndarray  # (≥ indptr[-1],) the variant's dtype
    padded: np.ndarray  # (n_fixed, wp) the variant's dtype, wp a whole unit (Kernel.pad)
    width: int  # w ≤ wp unknowns per row
    lam: np.ndarray  # (n_rows,) the variant's dtype
    out: np.ndarray  # (n_rows, w) the variant's dtype, written
    data_terms: np.ndarray  # (n_rows,) float64, written

    @classmethod
    def checked(
        cls,
        kernel: Kernel,
        variant: str,
        *,
        indptr: np.ndarray,
        indices: np.ndarray,
        targets: np.ndarray,
        padded: np.ndarray,
        width: int,
        lam: np.ndarray,
        out: np.ndarray,
        data_terms: np.ndarray,
    ) -> HalfStep:
        """Check every array the C code will read or write; raise TypeError or ValueError."""
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
        dtype, unit = VARIANTS[variant], kernel.unit(variant)
        real = f"{dtype} (the {variant} variant's type)"
        _expect_array("indptr", indptr, np.int64, 1)
        _expect_array("indices", indices, np.int32, 1)
        _expect_array("targets", targets, dtype, 1, real)
        _expect_array("padded", padded, dtype, 2, real)
        _expect_array("lam", lam, dtype, 1, real)
        _expect_array("out", out, dtype, 2, real, writable=True)
        _expect_array("data_terms", data_terms, np.float64, 1, writable=True)
        n_rows, n_fixed, wp = out.shape[0], padded.shape[0], padded.shape[1]
        if isinstance(width, bool) or not isinstance(width, (int, np.integer)):
            raise TypeError(f"width must be an integer, got {width!r}")
        if not 1 <= width <= wp or wp % unit or out.shape[1] != width:
            raise ValueError(
                f"expected 1 ≤ width ≤ padded columns (a multiple of {unit}) and out with "
                f"width columns, got width {width}, padded {padded.shape}, out {out.shape}"
            )
        if np.any(padded[:, width:]):
            raise ValueError("padded must be zero beyond the first width columns (Kernel.pad)")
        for name, array in (("lam", lam), ("data_terms", data_terms)):
            if len(array) != n_rows:
                raise ValueError(
                    f"expected {name} of length {n_rows} (rows of out), got {len(array)}"
                )
        if len(indptr) != n_rows + 1:
            raise ValueError(f"expected indptr of length {n_rows + 1}, got {len(indptr)}")
        if n_rows and (indptr[0] < 0 or np.any(np.diff(indptr) < 0)):
            raise ValueError("indptr must start at 0 or more and never decrease")
        nnz = int(indptr[-1]) if len(indptr) else 0
        for name, array in (("indices", indices), ("targets", targets)):
            if len(array) < nnz:
                raise ValueError(
                    f"expected {name} of length ≥ {nnz} (indptr[-1]), got {len(array)}"
                )
        used = indices[int(indptr[0]) : nnz] if n_rows else indices[:0]
        if len(used) and (used.min() < 0 or used.max() >= n_fixed):
            raise ValueError(f"indices must lie in [0, {n_fixed}) (rows of padded)")
        return cls(
            kernel, variant, indptr, indices, targets, padded, int(width), lam, out, data_terms
        )


def _expect_array(
    name: str,
    array: object,
    dtype,
    ndim: int,
    what: str | None = None,
    *,
    writable: bool = False,
) -> None:
    what = what or str(np.dtype(dtype))
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of {what}, got {type(array).__name__}")
    if array.dtype != dtype:
        raise TypeError(f"{name} must be {what}, got {array.dtype}")
    if array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {array.shape}")
    if not (array.flags.c_contiguous and array.flags.aligned):
        raise ValueError(f"{name} must be C-contiguous and aligned (np.ascontiguousarray)")
    if writable and not array.flags.writeable:
        raise ValueError(f"{name} must be writable")


def solve_stripe(step: HalfStep, rows: np.ndarray) -> np.ndarray:
    """Solve ``rows`` of ``step`` into its ``out`` and ``data_terms``; return the rows that
    were not positive definite (left untouched, for the caller to solve another way).

    ``rows``: int64, C-contiguous, each in [0, n_rows). ctypes releases the GIL for the call,
    so stripes run in parallel on Python threads (disjoint rows write disjoint memory).
    """
    if not isinstance(step, HalfStep):
        raise TypeError(f"step must be a HalfStep (HalfStep.checked), got {type(step).__name__}")
    _expect_array("rows", rows, np.int64, 1)
    n_rows = step.out.shape[0]
    if len(rows) and (rows.min() < 0 or rows.max() >= n_rows):
        raise ValueError(f"rows must lie in [0, {n_rows}) (rows of out)")
    fn = getattr(step.kernel.lib, f"solve_rows_{step.variant}")
    failed = np.empty(len(rows), dtype=np.int64)
    count = fn(
        step.indptr.ctypes.data,
        step.indices.ctypes.data,
        step.targets.ctypes.data,
        step.padded.ctypes.data,
        step.padded.shape[1],
        step.width,
        step.lam.ctypes.data,
        rows.ctypes.data,
        len(rows),
        step.out.ctypes.data,
        step.data_terms.ctypes.data,
        failed.ctypes.data,
    )
    if count < 0:
        raise MemoryError("the compiled kernel could not allocate its workspace")
    return failed[:count]
