"""History: the per-epoch numbers of a training run, and their plot."""


class History:
    """Rows of {epoch, loss, metrics..., val_..., lr, time}; `history['val_loss']` gives a column."""

    def __init__(self, rows=None):
        self.rows = list(rows or [])

    def append(self, epoch, logs):
        self.rows.append({"epoch": epoch + 1, **logs})

    def __getitem__(self, key):
        return [row[key] for row in self.rows if key in row]

    def __len__(self):
        return len(self.rows)

    def keys(self):
        keys = []
        for row in self.rows:
            keys += [k for k in row if k not in keys]
        return keys

    def to_dict(self):
        return {"rows": self.rows}

    @classmethod
    def from_dict(cls, state):
        return cls(state.get("rows", []))

    def plot(self, path, title="training history"):
        """Save loss (left) and the other metrics (right), train and validation, to a PNG.

        Draws on its own Figure with the Agg canvas: matplotlib's backend and pyplot's figures, which
        belong to the user's process, stay as they were. Needs matplotlib: `pip install "retrograd[plot]"`."""
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError:
            raise ImportError('History.plot needs matplotlib: pip install "retrograd[plot]"') from None
        epochs = self["epoch"]
        metrics = [k for k in self.keys() if k not in ("epoch", "lr", "time", "loss", "val_loss")
                   and not k.startswith("val_")]
        fig = Figure(figsize=(10 if metrics else 5, 4))
        FigureCanvasAgg(fig)  # attaches itself to fig: savefig renders with Agg whatever the backend
        axes = fig.subplots(1, 1 + bool(metrics), squeeze=False)
        loss_ax = axes[0][0]
        loss_ax.plot(epochs, self["loss"], label="train")
        if self["val_loss"]:
            loss_ax.plot(epochs, self["val_loss"], label="validation")
        loss_ax.set(xlabel="epoch", ylabel="loss", title="loss")
        loss_ax.legend()
        if metrics:
            ax = axes[0][1]
            for name in metrics:
                ax.plot(epochs, self[name], label=f"train {name}")
                if self[f"val_{name}"]:
                    ax.plot(epochs, self[f"val_{name}"], label=f"validation {name}")
            ax.set(xlabel="epoch", title=", ".join(metrics))
            ax.legend()
        fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        return path
