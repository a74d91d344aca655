import sys

from drill.run import main

sys.exit(main(sys.argv[1:]))
