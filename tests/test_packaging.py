"""The distribution: `python -m build` makes a wheel and an sdist that `twine check` accepts, the
wheel installs into a fresh virtual environment and imports there, and every install hint names
the distribution (`inn-flows`), never the unrelated `inn` on the package index."""

import importlib.metadata
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
DISTRIBUTION = "inn-flows"
SOURCES = ["pyproject.toml", "README.md", "LICENSE", "inn"]
# Without PYTHONPATH: a checkout on the path would shadow the installed wheel.
CLEAN_ENV = {"PATH": "/usr/bin:/bin", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


@pytest.fixture(scope="module")
def dist_dir(tmp_path_factory):
    pytest.importorskip("build")
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    # No build isolation: the build backend (setuptools) is already installed, nothing downloads.
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    return out


def test_build_makes_a_wheel_and_an_sdist_that_twine_accepts(dist_dir):
    pytest.importorskip("twine")
    wheels, sdists = list(dist_dir.glob("*.whl")), list(dist_dir.glob("*.tar.gz"))
    assert [w.name.split("-")[0] for w in wheels] == ["inn_flows"]
    assert [s.name.split("-")[0] for s in sdists] == ["inn_flows"]
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, wheels + sdists)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2


def test_wheel_installs_into_a_fresh_venv_and_imports(dist_dir, tmp_path):
    env = tmp_path / "venv"
    venv.create(env, with_pip=False)
    env_python = env / "bin" / "python"
    env_site = Path(
        subprocess.run(
            [str(env_python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # The dependencies (torch, networkx, numpy) come from this environment through a .pth file,
    # so nothing downloads; directories named in a .pth file run none of their own .pth files,
    # so the editable install of this checkout stays invisible.
    (env_site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    wheel = next(dist_dir.glob("*.whl"))
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(env_python), "install", "--quiet",
         "--no-deps", "--no-index", "--ignore-installed", str(wheel)],
        check=True,
        capture_output=True,
        env=CLEAN_ENV,
    )
    probe = (
        "import importlib.metadata, inn, torch\n"
        "net = inn.SequenceINN(2)\n"
        "net.append(inn.ActNorm)\n"
        "z, log_jac_det = net(torch.randn(5, 2))\n"
        "print(inn.__file__)\n"
        f"print(importlib.metadata.version({DISTRIBUTION!r}), tuple(z.shape))\n"
    )
    result = subprocess.run(
        [str(env_python), "-c", probe], cwd=tmp_path, capture_output=True, text=True,
        env=CLEAN_ENV,
    )
    assert result.returncode == 0, result.stderr
    location, version_and_shape = result.stdout.splitlines()
    assert Path(location).is_relative_to(env_site)
    assert version_and_shape == f"{importlib.import_module('inn').__version__} (5, 2)"


def test_every_install_hint_names_the_distribution():
    assert re.search(r'^name = "inn-flows"$', (ROOT / "pyproject.toml").read_text(), flags=re.M)
    files = [ROOT / "README.md", *ROOT.glob("docs/**/*.md"), *ROOT.glob("docs/**/*.py"),
             *ROOT.glob("inn/**/*.py"), *ROOT.glob("examples/*.py")]
    hints = []
    for path in files:
        if "_build" not in path.parts:
            hints += [(path, hint) for hint in re.findall(r"pip install[^\n`]*", path.read_text())]
    assert any("inn-flows" in hint for _, hint in hints)
    for path, hint in hints:
        requirements = [re.sub(r"\[.*", "", word.strip("\"'")) for word in hint.split()[2:]]
        assert "inn" not in requirements, f"{path}: {hint}"
