// NodePool: the lines' tree nodes come from contiguous slabs and are reused,
// which is what keeps a descent from missing the cache at every level.
#include "acd/node_pool.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <vector>

using tandem::acd::kNodePooling;
using tandem::acd::NodePool;

namespace {
// A size no container of the ACD uses, so this test has its pool to itself.
struct Node {
    Node *left, *right, *parent;
    int64_t key[34];
};
} // namespace

TEST_CASE("node pool: nodes are packed in slabs and a freed one is reused") {
    if (!kNodePooling) return; // sanitized build: nodes come from the heap so ASan sees every use
    NodePool<Node> pool;
    std::vector<Node *> nodes;
    for (int i = 0; i < 1000; ++i) nodes.push_back(pool.allocate(1));
    CHECK(std::set<Node *>(nodes.begin(), nodes.end()).size() == nodes.size());
    // 1,000 nodes back to back in 2 slabs of 512
    std::vector<uintptr_t> at;
    for (Node *n : nodes) at.push_back(reinterpret_cast<uintptr_t>(n));
    std::sort(at.begin(), at.end());
    size_t runs = 1;
    for (size_t i = 1; i < at.size(); ++i) runs += at[i] - at[i - 1] != sizeof(Node);
    CHECK(runs == 2);
    Node *freed = nodes[500];
    pool.deallocate(freed, 1);
    CHECK(pool.allocate(1) == freed);
    // stateless: a node freed through another instance (a tree's rebound
    // copy) is the next one any instance hands out
    NodePool<Node> other;
    other.deallocate(nodes[7], 1);
    CHECK(pool.allocate(1) == nodes[7]);
    for (Node *n : nodes) pool.deallocate(n, 1);
}

TEST_CASE("node pool: arrays come from the heap, not from a slab") {
    NodePool<Node> pool;
    Node *array = pool.allocate(4);
    array[3].key[2] = 7; // usable as an array (ASan checks the bounds in its build)
    Node *single = pool.allocate(1);
    // not carved out of the slab the single nodes come from
    auto a = reinterpret_cast<uintptr_t>(array), s = reinterpret_cast<uintptr_t>(single);
    CHECK((s + sizeof(Node) <= a || a + 4 * sizeof(Node) <= s));
    pool.deallocate(single, 1);
    pool.deallocate(array, 4);
}
