import sys

from alco.cli.main import main

sys.exit(main())
