"""Themes and stylesheets: the semantic colour variables and where the .tcss files live."""

from __future__ import annotations

from pathlib import Path

from textual.theme import BUILTIN_THEMES, Theme

STYLESHEETS = ("app.tcss", "main.tcss", "detail.tcss", "dialogs.tcss")
DEFAULT_THEME = "kataview"
SEMANTIC = ("runtime-runc", "runtime-kata", "runtime-gvisor", "runtime-other", "stale")


def styles_dir() -> Path:
    """`kataview/styles` inside an installed wheel, else the source tree's top-level styles/."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "styles", package.parent / "styles"):
        if (candidate / STYLESHEETS[0]).is_file():
            return candidate
    raise FileNotFoundError(f"kataview stylesheets not found under {package} or {package.parent}")


def stylesheet_paths() -> list[Path]:
    directory = styles_dir()
    return [directory / name for name in STYLESHEETS]


def semantic_defaults(theme: Theme) -> dict[str, str]:
    """Runtime colours derived from any theme, so every theme (built-in or not) has them."""
    colors = theme.to_color_system().generate()
    return {
        "runtime-runc": colors["foreground"],
        "runtime-kata": colors["accent"],
        "runtime-gvisor": colors["secondary"],
        "runtime-other": colors["warning"],
        "stale": colors["warning"],
    }


def kataview_theme() -> Theme:
    """textual-dark with the runtime colours chosen explicitly."""
    base = BUILTIN_THEMES["textual-dark"]
    return Theme(
        name=DEFAULT_THEME, primary=base.primary, secondary=base.secondary, accent=base.accent,
        warning=base.warning, error=base.error, success=base.success, foreground=base.foreground,
        background=base.background, surface=base.surface, panel=base.panel, dark=True,
        variables={
            "runtime-runc": "lightgray",
            "runtime-kata": "deepskyblue",
            "runtime-gvisor": "orchid",
            "runtime-other": "gold",
            "stale": "orange",
        },
    )
