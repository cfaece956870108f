"""Self-supervised pretraining of the MERT-architecture encoder on unlabeled audio (`aqa pretrain`).

A layer below aqa.model: it needs only transformers, torch, scikit-learn and data_modules, so the encoder
resolver can build a pretrained tiny encoder on demand.
"""
