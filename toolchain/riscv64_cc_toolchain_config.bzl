"""cc_toolchain_config for freestanding riscv64 using Debian's riscv64-linux-gnu-gcc 12."""

load("@bazel_tools//tools/build_defs/cc:action_names.bzl", "ACTION_NAMES")
load(
    "@bazel_tools//tools/cpp:cc_toolchain_config_lib.bzl",
    "feature",
    "flag_group",
    "flag_set",
    "tool_path",
)

_PREFIX = "/usr/bin/riscv64-linux-gnu-"
_GCC_INC = "/usr/lib/gcc-cross/riscv64-linux-gnu/12/include"
_CXX_INC = "/usr/riscv64-linux-gnu/include/c++/12"
_SYS_INC = "/usr/riscv64-linux-gnu/include"  # only for <features.h> pulled in by libstdc++'s c++config.h

# Explicit include path: `riscv64-linux-gnu-g++ -v` also searches the HOST's
# /usr/include (Debian multiarch quirk); -nostdinc removes that.
_INCLUDE_DIRS = [
    _CXX_INC,
    _CXX_INC + "/riscv64-linux-gnu",
    _CXX_INC + "/backward",
    _GCC_INC,
    _SYS_INC,
]

_ARCH_FLAGS = ["-march=rv64gc", "-mabi=lp64d", "-mcmodel=medany"]

_ALL_COMPILE = [
    ACTION_NAMES.assemble,
    ACTION_NAMES.preprocess_assemble,
    ACTION_NAMES.c_compile,
    ACTION_NAMES.cpp_compile,
    ACTION_NAMES.cpp_header_parsing,
    ACTION_NAMES.cpp_module_compile,
    ACTION_NAMES.cpp_module_codegen,
    ACTION_NAMES.linkstamp_compile,
]

_CXX_COMPILE = [
    ACTION_NAMES.cpp_compile,
    ACTION_NAMES.cpp_header_parsing,
    ACTION_NAMES.cpp_module_compile,
    ACTION_NAMES.cpp_module_codegen,
    ACTION_NAMES.linkstamp_compile,
]

_ALL_LINK = [
    ACTION_NAMES.cpp_link_executable,
    ACTION_NAMES.cpp_link_dynamic_library,
    ACTION_NAMES.cpp_link_nodeps_dynamic_library,
]

def _impl(ctx):
    tool_paths = [
        tool_path(name = "gcc", path = _PREFIX + "gcc"),
        tool_path(name = "cpp", path = _PREFIX + "cpp"),
        tool_path(name = "ld", path = _PREFIX + "ld"),
        tool_path(name = "ar", path = _PREFIX + "ar"),
        tool_path(name = "nm", path = _PREFIX + "nm"),
        tool_path(name = "objcopy", path = _PREFIX + "objcopy"),
        tool_path(name = "objdump", path = _PREFIX + "objdump"),
        tool_path(name = "strip", path = _PREFIX + "strip"),
        tool_path(name = "gcov", path = _PREFIX + "gcov"),
        tool_path(name = "dwp", path = "/bin/false"),
        tool_path(name = "llvm-cov", path = "/bin/false"),
    ]

    default_compile_flags = feature(
        name = "default_compile_flags",
        enabled = True,
        flag_sets = [
            flag_set(
                actions = _ALL_COMPILE,
                flag_groups = [flag_group(flags = _ARCH_FLAGS + [
                    "-ffreestanding",
                    "-fno-builtin",
                    "-fno-stack-protector",
                    "-fno-pic",
                    "-fno-pie",
                    "-fno-asynchronous-unwind-tables",
                    "-ffunction-sections",
                    "-fdata-sections",
                    "-Wall",
                    "-O2",
                    "-g",
                    "-nostdinc",
                ] + ["-isystem" + d for d in _INCLUDE_DIRS])],
            ),
            flag_set(
                actions = _CXX_COMPILE,
                flag_groups = [flag_group(flags = [
                    "-fno-exceptions",
                    "-fno-rtti",
                    "-fno-threadsafe-statics",
                    "-fno-use-cxa-atexit",
                ])],
            ),
        ],
    )

    default_link_flags = feature(
        name = "default_link_flags",
        enabled = True,
        flag_sets = [flag_set(
            actions = _ALL_LINK,
            flag_groups = [flag_group(flags = _ARCH_FLAGS + [
                "-nostdlib",
                "-static",
                "-no-pie",
                "-Wl,--gc-sections",
                "-Wl,--build-id=none",
            ])],
        )],
    )

    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        features = [default_compile_flags, default_link_flags],
        cxx_builtin_include_directories = _INCLUDE_DIRS,
        toolchain_identifier = "riscv64-none-gcc",
        host_system_name = "x86_64-unknown-linux-gnu",
        target_system_name = "riscv64-unknown-none-elf",
        target_cpu = "riscv64",
        target_libc = "none",
        compiler = "gcc",
        abi_version = "lp64d",
        abi_libc_version = "none",
        tool_paths = tool_paths,
    )

riscv64_cc_toolchain_config = rule(
    implementation = _impl,
    attrs = {},
    provides = [CcToolchainConfigInfo],
)
