import sys

from seatplan.cli import main

sys.exit(main())
