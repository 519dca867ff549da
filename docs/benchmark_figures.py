"""The benchmarks page's figure: headline ratios of README's benchmark table, as bars.

The numbers are the medians of the ranges in README.md (2026-11-23, torch 2.13.0+cpu on the
2-core development VM, one thread; torch 2.11.0+cu130 on an H100); update both together.
"""

import matplotlib.pyplot as plt

# (benchmark, measurement): {column: inn time / baseline time}
RATIOS = {
    ("glow.py vs FrEIA 0.2", "forward"): {"CPU (dev VM)": 0.835, "H100": 0.94},
    ("glow.py vs FrEIA 0.2", "reverse"): {"CPU (dev VM)": 0.82, "H100": 0.85},
    ("glow.py vs FrEIA 0.2", "training step"): {"CPU (dev VM)": 0.95, "H100": 0.92},
    ("autoregressive.py vs zuko", "log_prob"): {"CPU (dev VM)": 0.95},
    ("autoregressive.py vs zuko", "training step"): {"CPU (dev VM)": 0.93},
    ("autoregressive.py vs nflows", "log_prob"): {"CPU (dev VM)": 0.86},
    ("autoregressive.py vs nflows", "training step"): {"CPU (dev VM)": 0.91},
    ("spline.py vs FrEIA master", "forward"): {"CPU (dev VM)": 0.61},
    ("spline.py vs FrEIA master", "inverse"): {"CPU (dev VM)": 0.62},
    ("overhead.py: SequenceINN vs plain loop", "forward"): {"CPU (dev VM)": 0.925},
    ("overhead.py: GraphINN vs plain loop", "forward"): {"CPU (dev VM)": 0.95},
}
COLUMNS = ["CPU (dev VM)", "H100"]


def plot() -> plt.Figure:
    """Horizontal bars, one group per measurement; 1.0 (dashed) is the baseline."""
    labels = [f"{bench}: {what}" for bench, what in RATIOS]
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(labels) + 1.4))
    height = 0.38
    for k, column in enumerate(COLUMNS):
        rows = [(i, r[column]) for i, r in enumerate(RATIOS.values()) if column in r]
        ax.barh([i + (k - 0.5) * height for i, _ in rows], [v for _, v in rows], height,
                label=column, color=f"C{k}")
    ax.axvline(1.0, color="k", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("time of inn / time of the baseline (lower is faster)")
    ax.set_xlim(0, 1.2)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=len(COLUMNS))
    fig.tight_layout()
    return fig


plot()
