"""riscv64_binary: builds `binary` for //platforms:riscv64_virt regardless of --platforms."""

def _to_riscv_impl(settings, attr):
    # The host's sanitizer flags (--config=asan|tsan|ubsan add -fsanitize=... to
    # --copt/--linkopt) have no runtime in the freestanding kernel: keep only
    # the warnings, so `bazel test //... --config=asan` builds the RISC-V side
    # as it is built without a sanitizer.
    return {
        "//command_line_option:platforms": "//platforms:riscv64_virt",
        "//command_line_option:copt": [c for c in settings["//command_line_option:copt"] if c.startswith("-W")],
        "//command_line_option:linkopt": [],
    }

_to_riscv = transition(
    implementation = _to_riscv_impl,
    inputs = ["//command_line_option:copt"],
    outputs = [
        "//command_line_option:platforms",
        "//command_line_option:copt",
        "//command_line_option:linkopt",
    ],
)

def _riscv64_binary_impl(ctx):
    src = ctx.files.binary[0]
    out = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.symlink(output = out, target_file = src)
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

riscv64_binary = rule(
    implementation = _riscv64_binary_impl,
    attrs = {
        "binary": attr.label(cfg = _to_riscv, mandatory = True),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
)

def _riscv64_archives_impl(ctx):
    archives = []
    for dep in ctx.attr.deps:
        if CcInfo in dep:
            for linker_input in dep[CcInfo].linking_context.linker_inputs.to_list():
                for lib in linker_input.libraries:
                    a = lib.static_library or lib.pic_static_library
                    if a != None and a not in archives:
                        archives.append(a)
    if not archives:
        fail("riscv64_archives(%s): the deps produced no static archives" % ctx.label)
    return [DefaultInfo(files = depset(archives), runfiles = ctx.runfiles(files = archives))]

riscv64_archives = rule(
    implementation = _riscv64_archives_impl,
    doc = """The static archives (.a/.lo) of `deps` and all their transitive
    cc_library deps, built for //platforms:riscv64_virt.""",
    attrs = {
        "deps": attr.label_list(cfg = _to_riscv, mandatory = True, providers = [CcInfo]),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
)
