// Tests share libtorch's global RNG and thread pool: run them one at a time so seeded runs stay reproducible.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
