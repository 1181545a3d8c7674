"""vmsg-conform: conformance suite for virtio-msg over the AMP PCI transport.

The native module ``vmsg_conform._vmsg`` (thin bindings of the C++ reference)
is imported lazily by the modules that need it, so the catalogue, reports and
CLI work without it.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
