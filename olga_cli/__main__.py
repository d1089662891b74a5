from olga_cli.cli.app import main

main()
