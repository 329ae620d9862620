"""`python -m pipeline run ...` is the same as `newsbeam run ...`."""

import sys

from pipeline.cli import main

if __name__ == "__main__":  # not when a child process imports the main module
    sys.exit(main())
