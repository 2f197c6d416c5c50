"""Rebuild the shipped model from BANKING77: ``python -m triage.ml.build_model``.

Also picks the out-of-scope threshold so that most out-of-domain questions from
BANKING77-OOS's validation split (never its test split) fall below it.
"""

from __future__ import annotations

import numpy as np

from triage.ml import classifier
from triage.ml.datasets import banking77, oos_valid_texts

OOS_TARGET_RECALL = 0.8


def pick_oos_threshold(model: classifier.IntentModel) -> float:
    conf = np.array([p.confidence for p in model.predict_many(oos_valid_texts())])
    return float(np.quantile(conf, OOS_TARGET_RECALL))


def main() -> None:
    texts, labels = banking77("train")
    model = classifier.train(texts, labels)
    model.oos_threshold = round(min(pick_oos_threshold(model), 0.6), 3)
    classifier.save(model)
    print(f"saved {classifier.MODEL_PATH} oos_threshold={model.oos_threshold}")


if __name__ == "__main__":
    main()
