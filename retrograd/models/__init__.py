"""Ready-made models with PyTorch's parameter names, so a PyTorch `state_dict` loads unchanged.

    LeNet5            the classic CNN for 1x28x28 digits (61,706 parameters)
    BasicBlock        conv-BN-ReLU-conv-BN plus a shortcut (identity, or 1x1 conv + BN projection)
    ResNet            a small residual network for 1x28x28 inputs, built from BasicBlocks
    resnet_small      ResNet with one block per stage, widths 16/32/64 (about 78k parameters)
"""
from .lenet import LeNet5  # noqa: F401
from .resnet import BasicBlock, ResNet, resnet_small  # noqa: F401
