import sys

from qx_env.cli import main

sys.exit(main())
