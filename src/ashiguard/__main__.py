from ashiguard.entrypoints.cli import main

main()
