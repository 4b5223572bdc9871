/*
 * Kernel entry. OpenSBI (fw_dynamic, `-bios default`) enters here in S-mode on
 * the boot hart with a0 = hart id, a1 = physical address of the device tree,
 * the MMU off (satp = 0) and interrupts disabled.
 */
    .section .text.start, "ax"
    .globl _start
_start:
    /* gp: linker relaxation may address small data relative to it. */
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      sp, __stack_top

    /* No interrupts: clear sie; any trap is a bug and goes to trap_entry. */
    csrw    sie, zero
    la      t0, trap_entry
    csrw    stvec, t0

    /* sstatus.FS (bits 14:13) = 01 "Initial": lets the compiler use FP registers. */
    li      t0, (1 << 13)
    csrs    sstatus, t0

    /* Zero .bss (8-byte aligned bounds, see kernel.ld). a0/a1 are preserved. */
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  call    kmain           /* kmain(hart_id, dtb) never returns */
3:  wfi
    j       3b

/*
 * Trap vector (stvec MODE = 0 "Direct": the low two bits of the address must be
 * zero, hence the alignment). Nothing is expected to trap, so this reports
 * scause/sepc/stval and powers off with a failure reason.
 */
    .section .text
    .balign 4
    .globl trap_entry
trap_entry:
    csrr    a0, scause
    csrr    a1, sepc
    csrr    a2, stval
    la      sp, __stack_top
    call    KernelTrap      /* never returns */
4:  wfi
    j       4b
