"""pytest fixtures ``vmsg_target`` (session) and ``dut`` (a fresh Dut per test).

Options are read with defaults, so the fixtures also work without the plugin
having registered them (``pytest -p vmsg_conform.fixtures``).
"""

from __future__ import annotations

import pytest

from . import targets


def _opt(config: pytest.Config, name: str, default=None):
    try:
        value = config.getoption(name, default=default)
    except ValueError:
        return default
    return default if value is None else value


_TARGET = pytest.StashKey[targets.Target]()


def session_target(config: pytest.Config) -> targets.Target:
    """The target named by --vmsg-target ("ref" by default), resolved once per
    session: a target without a description discovers its topology on first
    use, and collection, the profile and every test share what it found."""
    target = config.stash.get(_TARGET, None)
    if target is None:
        target = targets.resolve(_opt(config, "vmsg_target", "ref") or "ref")
        config.stash[_TARGET] = target
    return target


@pytest.fixture(scope="session")
def vmsg_target(request: pytest.FixtureRequest) -> targets.Target:
    """The target named by --vmsg-target ("ref" by default)."""
    return session_target(request.config)


@pytest.fixture
def dut(request: pytest.FixtureRequest, vmsg_target: targets.Target):
    """A freshly opened target with --vmsg-fault faults and --vmsg-profile."""
    reason = vmsg_target.available()
    if reason is not None:
        pytest.skip(reason)
    faults = targets.split_faults(_opt(request.config, "vmsg_fault", []))
    profile = _opt(request.config, "vmsg_profile", "pr28") or "pr28"
    d = vmsg_target.open(faults=faults, profile=profile)
    try:
        yield d
    finally:
        d.close()
