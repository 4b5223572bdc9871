"""Layering of mm/ (DESIGN.md): base -> platform -> buddy -> slab_common ->
slob/slab/slub -> vm -> swap -> linux_api -> kernel_port. Each layer is visible
only to the layers above it (and to tests, benchmarks and tools), so a
back-edge is a build error."""

_OUTSIDE = [
    "//bench:__subpackages__",
    "//test:__subpackages__",
    "//tools:__subpackages__",
    "//kernel_port:__subpackages__",
]

def visible_above(layer):
    """Visibility list for targets of `layer` (a key of _ABOVE)."""
    return _ABOVE[layer] + _OUTSIDE

_ABOVE = {
    "base": ["//mm/platform:__pkg__", "//mm/buddy:__pkg__", "//mm/slab_common:__pkg__", "//mm/slab:__pkg__", "//mm/slob:__pkg__", "//mm/slub:__pkg__", "//mm/vm:__pkg__", "//mm/swap:__pkg__", "//mm:__pkg__"],
    "platform": ["//mm/buddy:__pkg__", "//mm/slab_common:__pkg__", "//mm/slab:__pkg__", "//mm/slob:__pkg__", "//mm/slub:__pkg__", "//mm/vm:__pkg__", "//mm/swap:__pkg__", "//mm:__pkg__"],
    "buddy": ["//mm/slab_common:__pkg__", "//mm/slab:__pkg__", "//mm/slob:__pkg__", "//mm/slub:__pkg__", "//mm/vm:__pkg__", "//mm/swap:__pkg__", "//mm:__pkg__"],
    "slab_common": ["//mm/slab:__pkg__", "//mm/slob:__pkg__", "//mm/slub:__pkg__", "//mm/vm:__pkg__", "//mm/swap:__pkg__", "//mm:__pkg__"],
    "allocators": ["//mm/vm:__pkg__", "//mm/swap:__pkg__", "//mm:__pkg__"],
    "vm": ["//mm/swap:__pkg__", "//mm:__pkg__"],
    "swap": ["//mm:__pkg__"],
    "top": [],
}
