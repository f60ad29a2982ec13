// Content-defined chunking; see chunker.h.
