"""kataview: a terminal dashboard for clusters that run runc, Kata Containers and gVisor side by side.

Importing the package imports nothing else, so `kataview --version` and the non-interactive
commands start fast and never pull in Textual.
"""

__version__ = "0.1.0"
