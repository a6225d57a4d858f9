import sys

from alco.cli import main

sys.exit(main())
