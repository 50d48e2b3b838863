from cozykart.cli import main

raise SystemExit(main())
