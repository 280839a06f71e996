"""Build step: ship the top-level content folders inside the wheel.

``policies/``, ``scenarios/``, ``examples/`` and ``schemas/`` stay where they are in git, one
copy of each file. Building a wheel copies them into ``govchaos/_builtin/`` of the build tree,
so an installed govchaos finds them without a checkout (``govchaos.builtin``, the ``builtin:``
names). An editable install skips the copy: ``govchaos.builtin`` then reads the checkout's own
folders, so edits show up without a rebuild. Everything else is declared in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# Keep in step with govchaos.builtin.CONTENT_DIRS (tests/integration/test_install.py checks it).
CONTENT_DIRS = ("policies", "scenarios", "examples", "schemas")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".*", "*~")


class BuildPyWithContent(build_py):
    """``build_py`` that also copies the shipped content into ``govchaos/_builtin``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "govchaos" / "_builtin"
        if target.exists():
            shutil.rmtree(target)
        for name in CONTENT_DIRS:
            source = ROOT / name
            if not source.is_dir():  # an sdist without its content must not build a wheel
                raise SystemExit(f"setup.py: {source} is missing; it is shipped in the wheel")
            shutil.copytree(source, target / name, ignore=IGNORE)


setup(cmdclass={"build_py": BuildPyWithContent})
