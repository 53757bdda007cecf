import sys

from kataview.cli import main

sys.exit(main())
