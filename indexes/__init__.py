"""Retrieval indexes over a snapshot: keyword (pyserini/Lucene), embedding (faiss), graph (networkx)."""
