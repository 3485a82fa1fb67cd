# The Internet checksum (RFC 1071) of an IPv4 header.
# Input: r1 = the header, r2 = its length in bytes (even), checksum field zero.
# Output: r0 = the checksum to store in the header.
    mov %r0, 0              # running sum of 16-bit words
    mov %r3, 0              # byte offset
next_word:
    jge %r3, %r2, fold
    mov %r4, %r1
    add %r4, %r3
    ldxh %r5, [%r4]
    be16 %r5                # words are in network byte order
    add %r0, %r5
    add %r3, 2
    ja next_word
fold:
    mov %r4, %r0            # add the carries back in, twice
    rsh %r4, 16
    and %r0, 0xffff
    add %r0, %r4
    mov %r4, %r0
    rsh %r4, 16
    add %r0, %r4
    xor %r0, 0xffff         # one's complement
    and %r0, 0xffff
    exit
