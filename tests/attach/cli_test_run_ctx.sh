#!/bin/sh
# bpfrt test-run --ctx-in / --ctx-out / --data-out: an xdp_md with 8 bytes of
# metadata in, the context and the packet (metadata first) out; a __sk_buff
# with a mark through a socket filter; a context field the kernel refuses.
# Usage: cli_test_run_ctx.sh BPFRT OBJECT_DIR
set -eu
bpfrt=$1
objects=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# struct xdp_md {data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex}
printf '\010\000\000\000\110\000\000\000\000\000\000\000\001\000\000\000\000\000\000\000\000\000\000\000' > "$dir/md.bin"
# 8 bytes of metadata, then a 64-byte IPv4 frame
{ printf 'METADATA'; head -c 12 /dev/zero; printf '\010\000\105'; head -c 49 /dev/zero; } > "$dir/pkt.bin"
[ "$(wc -c < "$dir/pkt.bin")" -eq 72 ] || fail "test packet is not 72 bytes"

"$bpfrt" test-run "$objects/xdp_parser.o" --data "$dir/pkt.bin" --ctx-in "$dir/md.bin" \
    --ctx-out "$dir/md_out.bin" --data-out "$dir/pkt_out.bin" > "$dir/out.txt" || fail "xdp test-run failed"
grep -q 'retval = 0x2' "$dir/out.txt" || fail "XDP_PASS expected: $(cat "$dir/out.txt")"
cmp -s "$dir/md.bin" "$dir/md_out.bin" || fail "ctx_out differs from ctx_in: $(od -An -tu4 "$dir/md_out.bin")"
cmp -s "$dir/pkt.bin" "$dir/pkt_out.bin" || fail "data_out is not the metadata and the packet"

# struct __sk_buff: mark (offset 8) may be given, len (offset 0) may not.
{ head -c 8 /dev/zero; printf '\071\000\000\000'; } > "$dir/skb.bin"
"$bpfrt" test-run "$objects/sockex1.o" --size 64 --ctx-in "$dir/skb.bin" --ctx-out "$dir/skb_out.bin" --json \
    > "$dir/out.json" || fail "socket filter test-run failed"
grep -q '"ctx_out":192' "$dir/out.json" || fail "no 192-byte ctx_out: $(cat "$dir/out.json")"
[ "$(od -An -tu4 -j8 -N4 "$dir/skb_out.bin" | tr -d ' ')" = 57 ] || fail "mark did not come back"
printf '\001\000\000\000' > "$dir/bad.bin"
if "$bpfrt" test-run "$objects/sockex1.o" --size 64 --ctx-in "$dir/bad.bin" 2> "$dir/err.txt"; then
    fail "a context with len set was accepted"
fi
grep -q 'must be 0' "$dir/err.txt" || fail "unclear error: $(cat "$dir/err.txt")"
echo ok
