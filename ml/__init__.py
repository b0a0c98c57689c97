"""Numeric core of the paper search app: no Django imports.

- ml.encoder: TextEncoder (all-MiniLM-L6-v2; fp32 / bf16 / openvino), paper_text()
- ml.whitening: Whitening(beta, gamma, n_components) fitted on corpus vectors
- ml.keywords: Word2VecKeywords (Su's predictive score + phrases)
- ml.zlpr: ZLPRClassifier (threshold 0, confidence sigmoid(2s))
- ml.fusion: hybrid_rerank() / fuse() for BM25 + whitened-cosine reranking
- ml.recommend: PaperRecommender (linear SVM on whitened vectors, explained picks)
- ml.artifacts: ArtifactSet + train_artifacts(), the versioned bundle the app loads
"""
