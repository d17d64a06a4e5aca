from cherish.cli import main

main()
