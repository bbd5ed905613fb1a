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

    def use(self, compiler: str) -> None:
        from als_core import _kernel

        if shutil.which(compiler) is None:
            pytest.skip(
                f"{compiler} is not installed: the kernel tests run under each compiler found"
            )
        if compiler not in self._states:
            folder = self._factory.mktemp(f"kernel-{compiler}")
            folder.chmod(0o700)
            self._states[compiler] = (_kernel._State(), folder)
        state, folder = self._states[compiler]
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
