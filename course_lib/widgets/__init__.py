"""Interactive explorers for the lessons (ipywidgets + matplotlib).

Only notebooks import these modules; the core library never does. Import the explorer you
need from its module, e.g. ``from course_lib.widgets.hiker import hiker_explorer``.
Each module separates the computation (a function returning the data to plot, testable
without a display) from the drawing.
"""
