"""scripts/vendor-voice-sdk, offline: a fake npm stands in for the registry."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "vendor-voice-sdk"

FAKE_NPM = """#!/usr/bin/env bash
# Records the call and installs a tiny @twilio/voice-sdk under --prefix.
set -euo pipefail
echo "$*" >> "$NPM_LOG"
[[ -n "${NPM_FAIL:-}" ]] && exit 1
while [[ $# -gt 0 ]]; do
  if [[ "$1" == "--prefix" ]]; then prefix="$2"; fi
  shift
done
dir="$prefix/node_modules/@twilio/voice-sdk"
mkdir -p "$dir/dist"
echo '{"name": "@twilio/voice-sdk", "version": "2.18.5"}' > "$dir/package.json"
echo '/* twilio */' > "$dir/dist/twilio.min.js"
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the script in an empty project, with the fake npm first on PATH."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(SCRIPT, tmp_path / "scripts" / "vendor-voice-sdk")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(FAKE_NPM)
    npm.chmod(0o755)
    return tmp_path


def run(tree: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the copied script."""
    environ = {
        **os.environ,
        "PATH": f"{tree / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "NPM_LOG": str(tree / "npm.log"),
        **env,
    }
    return subprocess.run(
        [str(tree / "scripts" / "vendor-voice-sdk"), *args],
        env=environ,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.skipif(shutil.which("node") is None, reason="the script reads package.json with node")
def test_installs_once_then_does_nothing(tree: Path) -> None:
    """The file lands in console/static/vendor; a second run calls npm no more."""
    first = run(tree)
    assert first.returncode == 0, first.stderr
    target = tree / "console" / "static" / "vendor" / "twilio.min.js"
    assert target.read_text() == "/* twilio */\n"
    assert (target.parent / ".twilio-voice-sdk-version").read_text() == "2.18.5\n"
    log = (tree / "npm.log").read_text()
    assert "--ignore-scripts" in log and "--prefix .cache/voice-sdk" in log
    assert run(tree).returncode == 0
    assert (tree / "npm.log").read_text() == log  # idempotent: npm not called again


def test_failure_is_loud_unless_optional(tree: Path) -> None:
    """Without the package: exit 1, or a warning and exit 0 with --optional."""
    assert run(tree, NPM_FAIL="1").returncode == 1
    optional = run(tree, "--optional", NPM_FAIL="1")
    assert optional.returncode == 0 and "going on without" in optional.stderr
    assert not (tree / "console" / "static" / "vendor" / "twilio.min.js").exists()


def test_version_must_be_exact(tree: Path) -> None:
    """A range is refused before anything is downloaded."""
    result = run(tree, TWILIO_VOICE_SDK_VERSION="^2")
    assert result.returncode == 1 and "exact version" in result.stderr
    assert not (tree / "npm.log").exists()
