"""``python -m course_lib ...`` is the same as ``llmcourse ...``."""
import sys

from course_lib.pipeline.cli import main

sys.exit(main())
