"""Static description of each gridworld: walls, start, button, and the randomised layouts.

Everything the dynamics, renderer, state encoder and oracle need is derived from one
``GridSpec`` so the five environments share a single implementation. Coordinates are
(x, y) with x the column and y the row; the outer ring of the grid is wall.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Cell = tuple[int, int]

# Cell codes used by the dynamics and the renderer.
FLOOR, WALL, GOAL, HAZARD, BUTTON = 0, 1, 2, 3, 4
NUM_CODES = 5

# Absolute moves: a=0 -> +x, 1 -> +y, 2 -> -x, 3 -> -y (no turning).
ACTION_NAMES = ("+x", "+y", "-x", "-y")
MOVES: tuple[Cell, ...] = ((1, 0), (0, 1), (-1, 0), (0, -1))

STEP_REWARD = -2.0
GOAL_BONUS = 20.0
HAZARD_PENALTY = -100.0
HORIZON = 100
TILE = 6  # pixels per cell in the camera image


@dataclass(frozen=True)
class Layout:
    """One randomised arrangement: where the goal and hazard cells are."""

    goal: tuple[Cell, ...]
    hazard: tuple[Cell, ...]
    features: tuple[float, ...]  # the layout part of the privileged state


@dataclass(frozen=True)
class GridSpec:
    """One gridworld: geometry, randomisation, visibility rules and state layout."""

    name: str
    size: int  # including the outer wall
    walls: frozenset[Cell]  # interior walls (the outer ring is added automatically)
    start: Cell
    button: Cell | None
    layouts: tuple[Layout, ...]  # drawn uniformly at every reset
    goal_hidden_until_lit: bool
    hazard_hidden: str  # "until_lit" or "always"
    state_has_flag: bool  # TD-style state ends with the illuminated flag
    partial_reveals_layout: bool  # TD: partial_state shows the layout once lit; FL: agent only
    reference_returns: dict[str, float] = field(default_factory=dict)

    @property
    def interior(self) -> int:
        return self.size - 2

    @property
    def num_cells(self) -> int:
        return self.size * self.size

    @property
    def feature_dim(self) -> int:
        return len(self.layouts[0].features)

    @property
    def state_dim(self) -> int:
        return self.interior**2 + self.feature_dim + int(self.state_has_flag)

    @property
    def partial_state_dim(self) -> int:
        return self.state_dim if self.partial_reveals_layout else self.interior**2

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.size * TILE, self.size * TILE, 3)

    def flat(self, cell: Cell) -> int:
        """Flat index y*size + x used by the vectorised dynamics."""
        return cell[1] * self.size + cell[0]

    def is_wall(self, cell: Cell) -> bool:
        x, y = cell
        border = x in (0, self.size - 1) or y in (0, self.size - 1)
        return border or cell in self.walls

    def code_map(self, layout: int) -> np.ndarray:
        """(size*size,) int8 cell codes of one layout, everything visible."""
        codes = np.zeros(self.num_cells, np.int8)
        for y in range(self.size):
            for x in range(self.size):
                if self.is_wall((x, y)):
                    codes[self.flat((x, y))] = WALL
        if self.button is not None:
            codes[self.flat(self.button)] = BUTTON
        for c in self.layouts[layout].goal:
            codes[self.flat(c)] = GOAL
        for c in self.layouts[layout].hazard:
            codes[self.flat(c)] = HAZARD
        return codes

    def visible_map(self, layout: int, lit: bool) -> np.ndarray:
        """Cell codes as the camera draws them: hidden objects become floor."""
        codes = self.code_map(layout)
        if self.goal_hidden_until_lit and not lit:
            codes[codes == GOAL] = FLOOR
        if self.hazard_hidden == "always" or (self.hazard_hidden == "until_lit" and not lit):
            codes[codes == HAZARD] = FLOOR
        return codes


def _tiger_door_returns(mdp_moves: int, pomdp_moves: int) -> dict[str, float]:
    """Returns of the reference policies for a two-door layout, from move counts.

    A move costs 2 and entering the goal nets +18, so a path of m moves returns 18 - 2(m-1).
    The averaged (AIL) policy walks to a random door: half the time the goal, otherwise it
    pays m-1 steps and falls in the hazard (-102).
    """
    mdp = GOAL_BONUS + STEP_REWARD * mdp_moves
    pomdp = GOAL_BONUS + STEP_REWARD * pomdp_moves
    fail = STEP_REWARD * (mdp_moves - 1) + STEP_REWARD + HAZARD_PENALTY
    return {"mdp_optimal": mdp, "pomdp_optimal": pomdp, "averaged_policy": 0.5 * mdp + 0.5 * fail}


def tiger_door() -> GridSpec:
    """Tiger Door: 7x7, two doors at (5,2)/(5,4) holding goal and hazard, button at (1,4)."""
    # The reference's wall indices l, with x = l // 7 and y = l % 7.
    walls = frozenset(divmod(i, 7) for i in (15, 22, 29, 36, 16, 31, 38, 18, 12, 19, 26, 33, 40))
    doors = ((5, 2), (5, 4))
    layouts = (
        Layout(goal=(doors[0],), hazard=(doors[1],), features=(1.0, 0.0, 0.0, 1.0)),
        Layout(goal=(doors[1],), hazard=(doors[0],), features=(0.0, 1.0, 1.0, 0.0)),
    )
    return GridSpec(
        name="tiger_door",
        size=7,
        walls=walls,
        start=(1, 1),
        button=(1, 4),
        layouts=layouts,
        goal_hidden_until_lit=True,
        hazard_hidden="until_lit",
        state_has_flag=True,
        partial_reveals_layout=True,
        reference_returns=_tiger_door_returns(7, 9),
    )


def frozen_lake() -> GridSpec:
    """Frozen Lake: open 7x7, start (1,3), goal (5,3), one hidden hazard in the central 3x3."""
    # Hazard index k <-> cell (2 + k % 3, 2 + k // 3), the reference's ordering.
    cells = [(2 + k % 3, 2 + k // 3) for k in range(9)]
    layouts = tuple(
        Layout(goal=((5, 3),), hazard=(c,), features=tuple(float(j == k) for j in range(9)))
        for k, c in enumerate(cells)
    )
    # MDP: 4 moves (12) unless the hazard is on row 3 (1/3): 6 moves (8). POMDP: 8 moves round
    # the block (4). Straight crossing: 12 w.p. 6/9, else falls in after 1, 2 or 3 moves.
    straight = (6 * 12.0 + sum(STEP_REWARD * (m - 1) + STEP_REWARD + HAZARD_PENALTY for m in (1, 2, 3))) / 9
    returns = {"mdp_optimal": (2 * 12.0 + 8.0) / 3, "pomdp_optimal": 4.0, "averaged_policy": straight}
    return GridSpec(
        name="frozen_lake",
        size=7,
        walls=frozenset(),
        start=(1, 3),
        button=None,
        layouts=layouts,
        goal_hidden_until_lit=False,
        hazard_hidden="always",
        state_has_flag=False,
        partial_reveals_layout=False,
        reference_returns=returns,
    )


def tiger_door_osc(version: int) -> GridSpec:
    """TD-1/2/3: 9x9, corridor rows y=3,4, start (4,4), button (4,3); door columns 4-v | 4+v."""
    if version not in (1, 2, 3):
        raise ValueError(f"Tiger Door OSC version must be 1, 2 or 3, got {version}")
    corridor = {(x, y) for x in range(1, 8) for y in (3, 4)}
    walls = frozenset((x, y) for x in range(1, 8) for y in range(1, 8) if (x, y) not in corridor)
    left = ((4 - version, 3), (4 - version, 4))
    right = ((4 + version, 3), (4 + version, 4))
    layouts = (
        Layout(goal=left, hazard=right, features=(1.0, 0.0, 0.0, 1.0)),
        Layout(goal=right, hazard=left, features=(0.0, 1.0, 1.0, 0.0)),
    )
    return GridSpec(
        name=f"tiger_door_{version}",
        size=9,
        walls=walls,
        start=(4, 4),
        button=(4, 3),
        layouts=layouts,
        goal_hidden_until_lit=True,
        hazard_hidden="until_lit",
        state_has_flag=True,
        partial_reveals_layout=True,
        reference_returns=_tiger_door_returns(version, version + 1),
    )


SPECS = {
    "tiger_door": tiger_door,
    "frozen_lake": frozen_lake,
    "tiger_door_1": lambda: tiger_door_osc(1),
    "tiger_door_2": lambda: tiger_door_osc(2),
    "tiger_door_3": lambda: tiger_door_osc(3),
}
