import sys

from pipeline.entry.cli import main

sys.exit(main())
