"""riscv64_binary: builds `binary` for //platforms:riscv64_virt regardless of --platforms."""

def _to_riscv_impl(settings, attr):
    return {"//command_line_option:platforms": "//platforms:riscv64_virt"}

_to_riscv = transition(
    implementation = _to_riscv_impl,
    inputs = [],
    outputs = ["//command_line_option:platforms"],
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
