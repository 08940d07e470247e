"""Expert demonstrations for the visual imitation tasks: episode files, experts, and collection."""
