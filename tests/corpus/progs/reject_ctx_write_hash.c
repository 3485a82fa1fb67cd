// bpfrt-corpus: category=reject
// bpfrt-corpus: reject expect_message="read-only"
// Writing a read-only context field: tc programs may set mark, priority,
// tc_index, tc_classid, queue_mapping and tstamp, but not hash (that needs
// bpf_set_hash).
#include "net_common.h"

SEC("tc")
int tc_write_hash(struct __sk_buff *skb)
{
    __u32 h = skb->ifindex * 0x9e3779b1u ^ skb->len;
    skb->mark = h & 0xff;
    skb->hash = h; // bpfrt-corpus: fault
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
