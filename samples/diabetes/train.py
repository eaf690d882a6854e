"""Train the bundled sample model: a Ridge regression on scikit-learn's diabetes data.

The data ships with scikit-learn (10 numeric features per row), so this needs no download.
Run: python samples/diabetes/train.py [OUTPUT_DIR]   -> OUTPUT_DIR/sklearn_regression_model.pkl
"""

from __future__ import annotations

import sys
from pathlib import Path

MODEL_FILE = "sklearn_regression_model.pkl"


def train(output_dir: Path) -> Path:
    import joblib
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    features, target = load_diabetes(return_X_y=True)
    model = Ridge(alpha=0.1).fit(features, target)
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / MODEL_FILE
    joblib.dump(model, path)
    return path


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "outputs"
    print(train(out))
