"""PyTorch twins of the models retrograd ships (models/lenet.py, models/resnet.py): same modules, same
names, same forward, so state dicts are interchangeable and outputs equal. The classes are made on first
use, since defining a torch.nn.Module subclass needs torch."""
import functools

from ._torch import import_torch


@functools.cache
def torch_twin_classes():
    """{"LeNet5": class, "BasicBlock": class, "ResNet": class}, all torch.nn.Module subclasses."""
    torch = import_torch("retrograd.interop")
    tnn = torch.nn

    class LeNet5(tnn.Module):
        __qualname__ = "LeNet5"  # (not torch_twin_classes.<locals>.LeNet5 in reprs and errors)
        """retrograd.models.LeNet5 in PyTorch."""

        def __init__(self, num_classes=10, in_channels=1):
            super().__init__()
            self.features = tnn.Sequential(tnn.Conv2d(in_channels, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
                                           tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2))
            self.classifier = tnn.Sequential(tnn.Flatten(), tnn.Linear(16 * 5 * 5, 120), tnn.ReLU(),
                                             tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, num_classes))

        def forward(self, x):
            if x.ndim != 4 or tuple(x.shape[2:]) != (28, 28):
                raise ValueError(f"LeNet5: expected input of shape (N, C, 28, 28), got {tuple(x.shape)}")
            return self.classifier(self.features(x))

    def conv3x3(in_planes, planes, stride=1):
        return tnn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)

    class BasicBlock(tnn.Module):
        __qualname__ = "BasicBlock"  # (not torch_twin_classes.<locals>.BasicBlock in reprs and errors)
        """retrograd.models.BasicBlock in PyTorch."""

        expansion = 1

        def __init__(self, in_planes, planes, stride=1):
            super().__init__()
            self.conv1, self.bn1, self.relu = conv3x3(in_planes, planes, stride), tnn.BatchNorm2d(planes), tnn.ReLU()
            self.conv2, self.bn2 = conv3x3(planes, planes), tnn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or in_planes != planes:
                self.downsample = tnn.Sequential(tnn.Conv2d(in_planes, planes, kernel_size=1, stride=stride,
                                                            bias=False), tnn.BatchNorm2d(planes))
            self.stride = stride

        def forward(self, x):
            out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
            return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    class ResNet(tnn.Module):
        __qualname__ = "ResNet"  # (not torch_twin_classes.<locals>.ResNet in reprs and errors)
        """retrograd.models.ResNet in PyTorch (BasicBlocks, three stages)."""

        def __init__(self, layers=(1, 1, 1), widths=(16, 32, 64), num_classes=10, in_channels=1):
            super().__init__()
            self.conv1, self.bn1, self.relu = conv3x3(in_channels, widths[0]), tnn.BatchNorm2d(widths[0]), tnn.ReLU()
            planes, stages = widths[0], []
            for index, (blocks, width) in enumerate(zip(layers, widths)):
                stage = []
                for b in range(blocks):
                    stage.append(BasicBlock(planes, width, (1 if index == 0 else 2) if b == 0 else 1))
                    planes = width
                stages.append(tnn.Sequential(*stage))
            self.layer1, self.layer2, self.layer3 = stages
            self.avgpool, self.flatten = tnn.AdaptiveAvgPool2d(1), tnn.Flatten()
            self.fc = tnn.Linear(planes, num_classes)

        def forward(self, x):
            if x.ndim != 4:
                raise ValueError(f"ResNet: expected input of shape (N, C, H, W), got {tuple(x.shape)}")
            x = self.layer3(self.layer2(self.layer1(self.relu(self.bn1(self.conv1(x))))))
            return self.fc(self.flatten(self.avgpool(x)))

    return {"LeNet5": LeNet5, "BasicBlock": BasicBlock, "ResNet": ResNet}


def model_arguments(name, model):
    """The constructor arguments that rebuild `model` (a shipped model or its twin, either library) as `name`."""
    if name == "LeNet5":
        return {"num_classes": model.classifier[-1].out_features, "in_channels": model.features[0].in_channels}
    if name == "BasicBlock":
        return {"in_planes": model.conv1.in_channels, "planes": model.conv1.out_channels, "stride": model.stride}
    stages = (model.layer1, model.layer2, model.layer3)
    for stage in stages:
        for block in stage:
            if type(block).__name__ != "BasicBlock":
                raise TypeError(f"retrograd.interop: ResNet with {type(block).__name__} blocks has no twin "
                                f"(BasicBlock only)")
    return {"layers": tuple(len(stage) for stage in stages),
            "widths": tuple(stage[0].conv1.out_channels for stage in stages),
            "num_classes": model.fc.out_features, "in_channels": model.conv1.in_channels}
