# r0 = mem[1] + the memory's length (a verified raw-memory program)
ldxb %r0, [%r1+1]
add %r0, %r2
exit
