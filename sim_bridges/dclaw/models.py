"""Find ROBEL's D'Claw model files and load them in MuJoCo 3.

ROBEL's XML files start with a licence comment followed by an ``<?xml ...?>`` declaration,
which MuJoCo 3's parser rejects (a declaration must come first). We never edit the fetched
files: each load copies the small model tree (~2.5 MB) into a temporary directory with
the declarations removed, compiles it there (relative includes keep working), and deletes
the copy.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import mujoco

ENV_VAR = "ASYMLEARN_ROBEL_MODELS"
MAIN_XML = Path("dclaw/assets/dclaw3xh_valve3_v0.xml")
VALVES = ("valve3", "valve4")
FETCH_HINT = "run scripts/fetch_robel.sh (or set ASYMLEARN_ROBEL_MODELS to a directory holding robel-scenes/)"

_DECLARATION = re.compile(r"^[ \t]*<\?xml[^>]*\?>[ \t]*\r?\n?", re.MULTILINE)


class RobelModelsMissingError(FileNotFoundError):
    """The D'Claw model files are not installed; the message says how to fetch them."""


def candidate_dirs() -> list[Path]:
    """Where the model tree may be, in order: env override, the venv's share/, an installed robel."""
    dirs: list[Path] = []
    override = os.environ.get(ENV_VAR)
    if override:
        dirs.append(Path(override))
    dirs.append(Path(sys.prefix) / "share" / "robel-models")
    dirs.append(Path(__file__).resolve().parents[2] / ".venv" / "share" / "robel-models")
    spec = importlib.util.find_spec("robel")  # locates without importing (robel needs mujoco-py)
    if spec is not None and spec.submodule_search_locations:
        dirs.append(Path(next(iter(spec.submodule_search_locations))))
    return dirs


def find_models_dir() -> Path:
    """The first candidate directory that holds the D'Claw valve scene, or RobelModelsMissingError."""
    tried = candidate_dirs()
    for d in tried:
        if (d / MAIN_XML).is_file() and (d / "robel-scenes" / "dclaw").is_dir():
            return d
    raise RobelModelsMissingError(
        "D'Claw model files not found (looked in: " + ", ".join(str(d) for d in tried) + "); " + FETCH_HINT
    )


def strip_xml_declaration(text: str) -> str:
    """Remove every ``<?xml ...?>`` line (ROBEL puts one after its licence comment)."""
    return _DECLARATION.sub("", text)


def _copy_stripped(src: Path, dst: Path) -> None:
    for sub in ("robel-scenes", "dclaw/assets"):
        shutil.copytree(src / sub, dst / sub, dirs_exist_ok=True)
    for xml in dst.rglob("*.xml"):
        xml.write_text(strip_xml_declaration(xml.read_text()))


def load_model(valve: str = "valve3", models_dir: Path | None = None) -> mujoco.MjModel:
    """The D'Claw with a 3- or 4-prong valve: 9 claw joints, 9 overlay joints, 1 valve joint (nq=19, nu=9)."""
    if valve not in VALVES:
        raise ValueError(f"valve must be one of {VALVES}, got {valve!r}")
    src = models_dir if models_dir is not None else find_models_dir()
    with tempfile.TemporaryDirectory(prefix="asymlearn-dclaw-") as tmp:
        root = Path(tmp)
        _copy_stripped(src, root)
        main = root / MAIN_XML
        if valve != "valve3":
            text = main.read_text().replace("assets/valve3.xml", f"assets/{valve}.xml")
            main.write_text(text)
        return mujoco.MjModel.from_xml_path(str(main))
