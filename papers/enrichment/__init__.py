"""Applies the ml/ models to papers: training, enrichment, vectors, related papers, feeds."""
