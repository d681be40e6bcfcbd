"""The image library's pool functions: the simplified side of its kinds."""
