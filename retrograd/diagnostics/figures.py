"""Figures for the documentation site: an example saves its plots where the docs build asks.

The site's hook runs each example with the environment variable RETROGRAD_FIGURES naming a
directory; an example calls

    save_figure("loss.png", draw)      # draw(figure) fills a matplotlib Figure

which draws and saves the figure there only when the variable is set, so running an example by
hand writes no files. The figure is drawn on its own Figure with the Agg canvas (pyplot's state
and the user's backend stay as they were). Without matplotlib nothing is drawn and one line says
which extra draws it.
"""
import os

FIGURES_VARIABLE = "RETROGRAD_FIGURES"


def save_figure(name, draw, size=(6.0, 4.0)):
    """Draw `draw(figure)` and save it as `name` in $RETROGRAD_FIGURES; return the path, or None when
    the variable is unset (nothing drawn) or matplotlib is missing (a notice printed instead)."""
    directory = os.environ.get(FIGURES_VARIABLE)
    if not directory:
        return None
    if os.path.basename(name) != name or not name.endswith(".png"):
        raise ValueError(f"save_figure: name must be a file name ending in .png, got {name!r}")
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        print(f'(no figure {name}: pip install "retrograd[plot]")')
        return None
    figure = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(figure)  # attaches itself: savefig renders with Agg whatever the backend
    draw(figure)
    path = os.path.join(directory, name)
    figure.savefig(path, dpi=100)
    return path
