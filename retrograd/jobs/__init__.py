"""The jobs behind the `retrograd` command: MNIST classifiers and the char-level language model."""
