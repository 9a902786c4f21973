import sys

from evalr.cli import main

sys.exit(main())
