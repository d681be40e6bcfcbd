"""The image library's domain: store, scanner, hashing, sidecars, imaging, annotators."""
