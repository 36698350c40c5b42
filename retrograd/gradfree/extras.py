"""Optional packages, imported when a method first needs them, with the extra that installs them."""
import importlib


def require(module, extra, feature):
    """Import `module` or raise an ImportError that names `pip install "retrograd[extra]"`."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f'{feature} needs the {module.split(".")[0]} package: '
                          f'pip install "retrograd[{extra}]"') from None
