// What exploration remembers of the paths it took, for state pruning:
//
// - the tree of explored states: checkpoints (states stored at prune points,
//   compared with later arrivals) and fork points, each with the
//   instructions the path ran since its parent node;
// - precision (the kernel's mark_chain_precision): when a safety decision
//   depends on a scalar's range, the instructions are walked backwards to
//   find which registers and stack slots of each earlier checkpoint the
//   value came from, and those are marked precise there. Scalars without a
//   mark may hold any value in a state pruned against that checkpoint;
// - stack liveness (the kernel's REG_LIVE_READ for stack slots): a slot read
//   before being overwritten marks the checkpoints above it; slots a
//   checkpoint's continuation never read are not compared.
//
// Marks are final once a checkpoint's subtree is fully explored
// (branches == 0), which is when it may prune other paths.
#pragma once

#include "verifier/cfg.hpp"
#include "verifier/state.hpp"

#include <cstdint>
#include <list>
#include <vector>

namespace bpfrt::verifier {

// One instruction a path ran.
struct HistEntry {
    static constexpr uint8_t kNoStack = 0xff;
    static constexpr uint32_t kNoLinks = ~uint32_t{0};
    static constexpr uint8_t kCallbackExit = 1;  // an exit that returns to the callback-calling helper

    uint32_t pc = 0;
    uint32_t links = kNoLinks;  // conditional jump: its linked-scalar groups in History::links
    int16_t stack_off = 0;      // load/store/atomic on a stack at a constant offset: first byte
    uint8_t frame = 0;          // frame index the instruction ran in
    uint8_t stack_frame = kNoStack;  // and the frame whose stack it accessed
    uint8_t flags = 0;
};

struct Node {
    Node* parent = nullptr;
    size_t begin = 0, end = 0;    // instructions run between the parent node and this one (History's arena)
    RegSlotSet written;           // stack slots `hist` overwrote whole (new frames: all)
    uint32_t branches = 1;        // paths below still being explored
    // Checkpoints only: the state at `pc` and what its continuation depended on.
    bool checkpoint = false;
    bool listed = false;          // in the explorer's per-instruction list
    uint32_t pc = 0;
    State st;
    uint32_t hits = 0, misses = 0;
    RegSlotSet precise;
    RegSlotSet read;
    std::list<Node>::iterator self;
};

// The current end of one path: its last node and what it ran since (the
// arena from `begin` on: only the running path appends, and a path that
// waits to be explored has just forked, with nothing run since).
struct PathHistory {
    Node* parent = nullptr;
    size_t begin = 0;
    RegSlotSet written;
};

class History {
public:
    explicit History(const Cfg& cfg) : cfg_(cfg) {}

    // The running path executes an instruction / resumes after waiting.
    void append(const HistEntry& e) { arena_.push_back(e); }
    HistEntry& last() { return arena_.back(); }
    void resume(PathHistory& path) const { path.begin = arena_.size(); }

    // A new node ending `path`'s current segment (a checkpoint when `st` is given).
    Node* add_node(PathHistory& path, const State* st, uint32_t pc);
    // Another path starts below `path`'s last node.
    void share(const PathHistory& path) {
        if (path.parent) ++path.parent->branches;
    }
    // A path ended: nodes whose subtrees are done release their history (and
    // fork nodes and dropped checkpoints themselves).
    void end_path(Node* n);
    // A checkpoint left its list (it no longer prunes).
    void unlist(Node* n);

    // Values of `need` matter: mark where they came from. `need` is about
    // the state before the path's next instruction (the path is in frame
    // `cur_frame`), or with `skip_last` before the last one in its history
    // (the instruction being checked).
    void mark_precise(const PathHistory& path, RegSlotSet need, bool skip_last, size_t cur_frame);
    // The path read stack slot `slot` of frame `frame`.
    void mark_read(const PathHistory& path, size_t frame, size_t slot);

    // Linked scalars refined together at a conditional jump: groups of
    // registers / spilled slots (flattened: count, members..., 0).
    uint32_t add_links(const std::vector<RegSlotSet>& groups);

private:
    void back_one(const HistEntry& e, uint8_t next_frame, RegSlotSet& s) const;
    bool apply_marks(Node& n, RegSlotSet& s) const;
    void link_groups(uint32_t at, RegSlotSet& s) const;

    const Cfg& cfg_;
    std::vector<HistEntry> arena_;  // every path's instructions, segment after segment
    std::list<Node> nodes_;
    std::vector<uint16_t> links_;
};

}  // namespace bpfrt::verifier
