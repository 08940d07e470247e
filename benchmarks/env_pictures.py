"""Save docs/envs/<name>.png (camera next to privileged view) for every registered environment.

Run: python -m benchmarks.env_pictures [--out DIR] [--seed S] [--names A B]. Environments whose imports
fail (e.g. a simulator that is not installed) are skipped with the reason printed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "envs"


def main(argv: list[str] | None = None) -> int:
    """Write one picture per constructible environment; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--names", nargs="+", default=None, help="only these environments (default: all)")
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image

    from sim_bridges.pictures import side_by_side
    from sim_bridges.registry import available, make

    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names or available():
        try:
            env = make(name)
        except Exception as exc:  # a missing optional simulator must not stop the others
            print(f"skip {name}: {type(exc).__name__}: {exc}")
            continue
        try:
            picture = side_by_side(env, seed=args.seed)
        except Exception as exc:
            print(f"skip {name}: picture failed: {type(exc).__name__}: {exc}")
            continue
        finally:
            env.close()
        path = args.out / f"{name}.png"
        matplotlib.image.imsave(path, picture)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
