"""nbgrader configuration for the course (see README: "For instructors")."""
import os

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "solutions"     # instructor source: solutions + hidden tests
c.CourseDirectory.release_directory = "notebooks"    # generated student release (never hand-edited)
# A learner's deleted test cells come back at grading time.
c.OverwriteCells.add_missing_cells = True
# Grading: each cell may run 120 s; outputs are cut so a flood of prints cannot bloat feedback.
c.Execute.timeout = 120
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 40
# Student releases carry no outputs and keep the lesson's own kernel.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
