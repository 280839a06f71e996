from govchaos.cli import main

raise SystemExit(main())
