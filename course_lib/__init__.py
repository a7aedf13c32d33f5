"""course_lib: the small, tested library the course's lessons stand on.

Importing it is cheap: no matplotlib or ipywidgets at import time. It also takes a
snapshot of torch's public functions so that the graders can tell when a notebook
has replaced one of them (see ``course_lib.grading``).
"""
from course_lib import _integrity  # noqa: F401  (snapshot first, before any learner code runs)
from course_lib.device import autocast_dtype, pick_device, seed_everything, setup_lesson
from course_lib.grading import is_grading

__version__ = "0.1.0"

__all__ = ["autocast_dtype", "is_grading", "pick_device", "seed_everything", "setup_lesson", "__version__"]
