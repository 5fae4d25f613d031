"""The knowledge base: code-set sources, the structured store, and hybrid search over them."""
