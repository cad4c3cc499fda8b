import sys

from pogo.cli import main

sys.exit(main())
