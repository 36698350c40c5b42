"""The jobs behind the `retrograd` command: MNIST classifiers (`retrograd demo`), the char-level
language model and the two-spirals network written in raw tensor ops (`retrograd demo --spirals`)."""
