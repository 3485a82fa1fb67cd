# install rules: written with the CLI
