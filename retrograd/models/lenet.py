"""LeNet-5 (LeCun et al., 1998) in its common modern form: ReLU and max-pooling for 1x28x28 inputs.

    features:    Conv2d(1, 6, 5, padding=2)  ReLU  MaxPool2d(2)     28x28 -> 28x28 -> 14x14
                 Conv2d(6, 16, 5)            ReLU  MaxPool2d(2)     14x14 -> 10x10 -> 5x5
    classifier:  Flatten  Linear(400, 120) ReLU  Linear(120, 84) ReLU  Linear(84, num_classes)

The padding of 2 on the first convolution turns MNIST's 28x28 into the 32x32 the original
network was designed for. Parameter names (features.0.weight, ..., classifier.5.bias) are
those of the same nn.Sequential layout in PyTorch.
"""
from ..nn.activation import ReLU
from ..nn.containers import Sequential
from ..nn.conv import Conv2d
from ..nn.linear import Flatten, Linear
from ..nn.module import Module
from ..nn.pooling import MaxPool2d


class LeNet5(Module):
    """LeNet-5 for (N, 1, 28, 28) inputs; returns (N, num_classes) logits."""

    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.features = Sequential(
            Conv2d(in_channels, 6, 5, padding=2), ReLU(), MaxPool2d(2),  # (N, 6, 14, 14)
            Conv2d(6, 16, 5), ReLU(), MaxPool2d(2),  # (N, 16, 5, 5)
        )
        self.classifier = Sequential(
            Flatten(),  # (N, 400)
            Linear(16 * 5 * 5, 120), ReLU(),
            Linear(120, 84), ReLU(),
            Linear(84, num_classes),
        )

    def forward(self, x):
        if x.ndim != 4 or tuple(x.shape[2:]) != (28, 28):
            raise ValueError(f"LeNet5: expected input of shape (N, C, 28, 28), got {tuple(x.shape)}")
        return self.classifier(self.features(x))
