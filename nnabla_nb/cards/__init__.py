"""Function cards: for every registered function, its one-line meaning, its forward formula and its gradient.

The cards are data, kept here in the kit (one module per op family, named as ``engine/nnabla/_ops/``): the
engine computes, the kit explains. Formulas are LaTeX for MathJax (``$...$``) and read as plain text too.
Notation, the same on every card: $\\bar{v} = \\partial L / \\partial v$ is the gradient of a loss $L$ with
respect to $v$; elementwise formulas are written per element; $\\mathbb{1}[c]$ is 1 where $c$ holds, else 0.

``card(type_name)`` returns a ``Card``; ``CARDS`` maps every type name to its card. A card's ``plot`` says
whether ``nnabla_nb.explain`` draws the function and its derivative: ``None`` leaves it to the op (elementwise
ops are drawn on ``DEFAULT_DOMAIN``), ``False`` never, a ``(lo, hi)`` pair draws on that range.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import NamedTuple

DEFAULT_DOMAIN = (-4.0, 4.0)


class Card(NamedTuple):
    meaning: str  # one line, plain text
    forward: str  # LaTeX
    gradient: str  # LaTeX
    plot: tuple | bool | None = None


NO_GRADIENT = r"\text{no gradient: the output does not depend differentiably on the inputs}"
SAMPLE = r"\text{no gradient: the output is a random sample}"

CARDS: dict[str, Card] = {}
FAMILIES: dict[str, str] = {}  # type name -> the family module that holds its card
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    for _name, _card in _module.CARDS.items():
        if _name in CARDS:
            raise RuntimeError(f"two cards for {_name}: {FAMILIES[_name]} and {_info.name}")
        CARDS[_name] = _card
        FAMILIES[_name] = _info.name


def card(type_name: str) -> Card | None:
    """The card of function type ``type_name`` (``"Tanh"``), or None when it has none."""
    return CARDS.get(type_name)
