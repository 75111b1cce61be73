from pangeoctl.cli import main

main()
