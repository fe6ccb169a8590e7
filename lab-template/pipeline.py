"""A minimal KFP v1 pipeline: students replace the step with their training code."""

from kfp import compiler, dsl
from kfp.components import create_component_from_func


def train(learning_rate: float) -> float:
    """Stands in for the student's training step; returns a validation score."""
    return 1.0 - learning_rate


train_op = create_component_from_func(train, base_image="python:3.11-slim")


@dsl.pipeline(name="house-prices", description="Train and score the house-price model.")
def pipeline(learning_rate: float = 0.1):
    train_op(learning_rate)


if __name__ == "__main__":
    compiler.Compiler().compile(pipeline, "pipeline.yaml")
