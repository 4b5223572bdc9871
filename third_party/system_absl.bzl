"""Repository rule: Debian's system Abseil as cc_library targets.

Headers are in /usr/include (a builtin include dir), so the targets carry only
linkopts, generated from `pkg-config --libs <module>` at fetch time.
"""

def _pkg_config_libs(rctx, modules):
    r = rctx.execute(["pkg-config", "--libs"] + modules)
    if r.return_code != 0:
        fail("pkg-config --libs %s failed: %s" % (" ".join(modules), r.stderr))
    return [f for f in r.stdout.strip().split(" ") if f]

def _system_absl_impl(rctx):
    lines = ['package(default_visibility = ["//visibility:public"])', ""]
    for name in sorted(rctx.attr.targets.keys()):
        libs = _pkg_config_libs(rctx, rctx.attr.targets[name])
        lines.append("cc_library(\n    name = %r,\n    linkopts = %r,\n)\n" % (name, libs))
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)
    rctx.file("BUILD", "\n".join(lines))

system_absl = repository_rule(
    implementation = _system_absl_impl,
    attrs = {"targets": attr.string_list_dict(mandatory = True)},
    environ = ["PKG_CONFIG_PATH"],
    local = True,
)
