"""`python -m synergos_datasets OUT_DIR`: the same as `synergos-datasets OUT_DIR`."""

import sys

from synergos_datasets.builder import main

if __name__ == "__main__":
    sys.exit(main())
