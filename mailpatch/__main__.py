from mailpatch._cli import main

raise SystemExit(main())
