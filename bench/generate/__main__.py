import sys

from bench.generate.run import main

sys.exit(main())
