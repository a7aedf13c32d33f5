"""How fast lesson 07's explorers redraw after a slider moves.

Target: each redraw (the callback a slider move triggers: recompute the data, draw every
panel, encode the PNG) in under 200 ms on the CPU, so that dragging a slider feels smooth.

For each explorer, a slider is set programmatically to a sequence of new values (new ones,
so that no cache answers for the optimizer race), and each assignment is timed: in
ipywidgets the assignment runs the observers, i.e. the whole redraw, before it returns.
The table gives the median and the slowest of the moves (wall clock and CPU time), and the
ratio of the median to the 200 ms target (below 1 meets it).

Reference, measured in the same run: an *empty* figure of each explorer's size and panel
count, saved to PNG the same way. It is the floor of this way of drawing on this machine
(figure, axes, ticks and the PNG encoder, no data); on a shared machine it also shows how
busy the CPU is (the load average is printed too).

    python bench/bench_widgets.py            # 8 moves per slider
    python bench/bench_widgets.py --moves 20
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_lib.widgets.batch_noise import batch_noise_explorer  # noqa: E402
from course_lib.widgets.gradient_descent_explorer import descent_explorer  # noqa: E402
from course_lib.widgets.l1_vs_l2 import penalty_explorer  # noqa: E402
from course_lib.widgets.optimizer_race import race_explorer  # noqa: E402
from course_lib.widgets.panels import DPI, figure_png  # noqa: E402

TARGET_MS = 200.0


def walk(low: float, high: float, n: int, log: bool = False) -> list[float]:
    """n distinct values from low to high (geometric if log), in a zig-zag order."""
    if log:
        values = [low * (high / low) ** (i / (n - 1)) for i in range(n)]
    else:
        values = [low + (high - low) * i / (n - 1) for i in range(n)]
    return values[::2] + values[1::2][::-1]


def time_moves(explorer, control: str, values: list) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of each ``explorer.controls[control].value = v``."""
    wall, cpu = [], []
    slider = explorer.controls[control]
    for value in values:
        if slider.value == value:
            continue
        w, c = time.perf_counter(), time.process_time()
        slider.value = value  # runs the redraw before returning
        wall.append(1000 * (time.perf_counter() - w))
        cpu.append(1000 * (time.process_time() - c))
    return wall, cpu


def empty_figure_ms(figsize, n_panels, margins, repeats: int = 8) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        figure = Figure(figsize=figsize, dpi=DPI)
        figure.subplots_adjust(**margins)
        figure.subplots(1, n_panels)
        figure_png(figure)
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=8, help="slider moves per control")
    args = parser.parse_args()
    torch.set_num_threads(1)  # tiny tensors, as in the lesson
    n = max(args.moves, 2)

    cases = [
        ("gradient descent", descent_explorer, [("lr", walk(0.005, 0.3, n, log=True)),
                                                ("steps", [int(v) for v in walk(40, 300, n)])]),
        ("optimizer race", race_explorer, [("lr_adam", walk(0.01, 0.5, n, log=True)),
                                           ("steps", [int(v) // 10 * 10 for v in walk(100, 400, n)])]),
        ("L1 vs L2", penalty_explorer, [("strength", walk(0.002, 8.0, n, log=True))]),
        ("batch size and noise", batch_noise_explorer, [("batch_size", [1, 2, 4, 8, 16, 32, 64, 128, 256][:n]),
                                                        ("lr", walk(0.01, 0.5, n, log=True))]),
    ]
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; torch threads 1; {n} moves per slider")
    header = (f"{'explorer':<22}{'slider':<12}{'first ms':>9}{'median ms':>11}{'slowest':>9}{'cpu ms':>8}"
              f"{'/ 200 ms':>10}{'empty fig':>11}")
    print(header)
    print("-" * len(header))
    for name, make, sliders in cases:
        start = time.perf_counter()
        explorer = make()  # the first picture, including one-off precomputation
        first_ms = 1000 * (time.perf_counter() - start)
        floor = empty_figure_ms(explorer.figsize, explorer.n_panels, explorer.margins)
        for control, values in sliders:
            wall, cpu = time_moves(explorer, control, values)
            median = statistics.median(wall)
            print(f"{name:<22}{control:<12}{first_ms:>9.0f}{median:>11.0f}{max(wall):>9.0f}"
                  f"{statistics.median(cpu):>8.0f}{median / TARGET_MS:>10.2f}{floor:>11.0f}")
    print("\n'/ 200 ms' is the median redraw over the target: below 1.00 meets it. 'empty fig' is the "
          "reference floor: the same figure with no data, drawn and encoded the same way.")


if __name__ == "__main__":
    main()
