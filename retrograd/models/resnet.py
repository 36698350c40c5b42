"""A small residual network (He et al., 2016) for 1x28x28 inputs, with torchvision's names.

A residual block computes y = relu(F(x) + shortcut(x)). Because the shortcut is the identity
(or a 1x1 projection when the shape changes), dL/dx = dL/dy * relu' * (dF/dx + I): the "+ I"
carries the gradient straight to earlier layers however small dF/dx is, which is why very deep
residual networks still train (examples/resnet_gradients.py shows it in numbers).

    BasicBlock(in_planes, planes, stride)
        conv3x3(stride) - BN - ReLU - conv3x3 - BN, plus
        identity shortcut                      when stride == 1 and in_planes == planes
        downsample = 1x1 conv(stride) + BN     otherwise (the "projection shortcut", option B)
    ResNet(layers=(1, 1, 1), widths=(16, 32, 64))
        conv1 3x3 - bn1 - relu                          (N, 16, 28, 28)
        layer1: blocks at width 16, stride 1            (N, 16, 28, 28)
        layer2: blocks at width 32, first has stride 2  (N, 32, 14, 14)
        layer3: blocks at width 64, first has stride 2  (N, 64, 7, 7)
        avgpool (global) - flatten - fc                 (N, num_classes)
"""
from ..nn.activation import ReLU
from ..nn.containers import Sequential
from ..nn.conv import Conv2d
from ..nn.linear import Flatten, Linear
from ..nn.module import Module
from ..nn.normalization import BatchNorm2d
from ..nn.pooling import AdaptiveAvgPool2d


def conv3x3(in_planes, planes, stride=1):
    """3x3 convolution with padding 1 and no bias (the BatchNorm after it has one)."""
    return Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); shortcut = identity or downsample (1x1 conv + BN)."""

    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn1 = BatchNorm2d(planes)
        self.relu = ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = BatchNorm2d(planes)
        if stride != 1 or in_planes != planes:  # the identity would not match F(x)'s shape: project
            self.downsample = Sequential(Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False),
                                         BatchNorm2d(planes))
        else:
            self.downsample = None
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)  # the residual connection: the gradient reaches x through "+"


class ResNet(Module):
    """A three-stage ResNet for (N, in_channels, 28, 28) inputs; `layers` = blocks per stage."""

    def __init__(self, block=BasicBlock, layers=(1, 1, 1), widths=(16, 32, 64), num_classes=10, in_channels=1):
        super().__init__()
        if len(layers) != 3 or len(widths) != 3:
            raise ValueError(f"ResNet: expected 3 stages, got layers={layers}, widths={widths}")
        self.conv1 = conv3x3(in_channels, widths[0])
        self.bn1 = BatchNorm2d(widths[0])
        self.relu = ReLU()
        planes = widths[0]
        stages = []
        for index, (blocks, width) in enumerate(zip(layers, widths)):
            stride = 1 if index == 0 else 2
            stage = []
            for b in range(blocks):
                stage.append(block(planes, width, stride if b == 0 else 1))
                planes = width * block.expansion
            stages.append(Sequential(*stage))
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = AdaptiveAvgPool2d(1)
        self.flatten = Flatten()
        self.fc = Linear(planes, num_classes)

    def forward(self, x):
        if x.ndim != 4:
            raise ValueError(f"ResNet: expected input of shape (N, C, H, W), got {tuple(x.shape)}")
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.flatten(self.avgpool(x)))


def resnet_small(num_classes=10, in_channels=1):
    """ResNet with one BasicBlock per stage (8 weighted layers incl. the two projection shortcuts)."""
    return ResNet(BasicBlock, (1, 1, 1), (16, 32, 64), num_classes, in_channels)
