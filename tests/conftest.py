from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from pytest_mlsec.checks import registry
from pytest_mlsec.hooks import plugin_manager

# Property tests never race the clock (CI machines are shared and noisy); on CI they are also
# derandomised, so a red build is reproducible and a green one does not depend on luck.
settings.register_profile(
    "mlsec",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=bool(os.environ.get("CI")),
    print_blob=True,
)
settings.load_profile("mlsec")

DEMO_CONFTEST = """
import sys
sys.path.insert(0, {tests_dir!r})
from demo_check import DemoPlugin
from pytest_mlsec.checks import registry
from pytest_mlsec.hooks import plugin_manager
if not plugin_manager().has_plugin("demo"):
    plugin_manager().register(DemoPlugin(), name="demo")
    registry().reset()
"""


@pytest.fixture
def demo_check() -> Iterator[None]:
    """Register the demo check (as a third-party plugin would) for one test."""
    from tests.demo_check import DemoPlugin

    pm = plugin_manager()
    pm.register(DemoPlugin(), name="demo")
    registry().reset()
    try:
        yield
    finally:
        pm.unregister(name="demo")
        registry().reset()


@pytest.fixture
def demo_conftest(pytester: pytest.Pytester) -> Iterator[None]:
    """A conftest for pytester projects that registers the demo check (also in xdist workers)."""
    import pathlib

    tests_dir = str(pathlib.Path(__file__).parent)
    pytester.makeconftest(DEMO_CONFTEST.format(tests_dir=tests_dir))
    yield
    pm = plugin_manager()
    if pm.has_plugin("demo"):
        pm.unregister(name="demo")
    registry().reset()
