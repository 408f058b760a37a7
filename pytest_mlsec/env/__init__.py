"""Environment isolation: the process a pipeline step runs in, and the Dockerfiles that build it."""
