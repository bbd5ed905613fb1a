"""Fixtures for the compiled kernel's tests: the kernel as each installed C compiler builds it,
each build in its own cache folder, built once per test session (imported by conftest.py)."""

import shutil

import pytest

#: The C compilers the kernel tests build with, each into its own cache folder (CI installs both).
KERNEL_COMPILERS = ("gcc", "clang")


@pytest.fixture(scope="session")
def _kernel_states(tmp_path_factory):
    """compiler -> (the kernel's per-process state, its cache folder), built once per session."""
    return {}


class KernelBuilds:
    """Switch the kernel module to the build of one compiler for the current test."""

    def __init__(self, states, tmp_path_factory, monkeypatch):
        self._states, self._factory, self._monkeypatch = states, tmp_path_factory, monkeypatch

    def use(self, compiler: str, *, layout: str = "") -> None:
        """``layout``: "" for this CPU's; "portable" without -march=native (what a CPU the
        compiler does not know gets: 16-byte vectors on x86-64); "<bytes>x<rows>" forces that
        vector width and Gram tile (e.g. AVX-512's 64x8 or NEON's 16x8 on any CPU)."""
        from als_core import _kernel

        if shutil.which(compiler) is None:
            pytest.skip(
                f"{compiler} is not installed: the kernel tests run under each compiler found"
            )
        build = f"{compiler}-{layout}" if layout else compiler
        if build not in self._states:
            folder = self._factory.mktemp(f"kernel-{build}")
            folder.chmod(0o700)
            self._states[build] = (_kernel._State(), folder)
        state, folder = self._states[build]
        if layout == "portable":
            self._monkeypatch.setattr(_kernel, "FLAG_SETS", _kernel.FLAG_SETS[1:])
        elif layout:
            wide, rows = layout.split("x")
            forced = [*_kernel.FLAG_SETS[0], f"-DALS_WIDE={wide}", f"-DALS_TILE_ROWS={rows}"]
            self._monkeypatch.setattr(_kernel, "FLAG_SETS", (forced,))
        self._monkeypatch.setenv("CC", compiler)
        self._monkeypatch.setenv("ALS_CORE_KERNEL_DIR", str(folder))
        self._monkeypatch.delenv("ALS_CORE_ENGINE", raising=False)
        self._monkeypatch.setattr(_kernel, "_state", state)
        kernel = _kernel.load()  # waits for the build; fails the test if this compiler cannot
        assert kernel.path.parent == folder


@pytest.fixture()
def kernel_builds(_kernel_states, tmp_path_factory, monkeypatch):
    return KernelBuilds(_kernel_states, tmp_path_factory, monkeypatch)


@pytest.fixture(params=KERNEL_COMPILERS)
def kernel_compiler(request, kernel_builds):
    """Run the test once per C compiler, with the kernel that compiler built (loaded)."""
    kernel_builds.use(request.param)
    return request.param


#: Builds for the exactness tests: each compiler for this CPU and without -march=native,
#: and the other CPUs' layouts (vector bytes x Gram tile rows) forced.
KERNEL_BUILDS = [
    *KERNEL_COMPILERS,
    *(f"{c}:portable" for c in KERNEL_COMPILERS),
    "gcc:64x8",  # AVX-512
    "clang:16x8",  # NEON (aarch64)
    "gcc:16x4",  # SSE2
]


@pytest.fixture(params=KERNEL_BUILDS)
def kernel_build(request, kernel_builds):
    """Like ``kernel_compiler``, over every layout of the kernel (KERNEL_BUILDS)."""
    compiler, _, layout = request.param.partition(":")
    kernel_builds.use(compiler, layout=layout)
    return request.param
