// An intrusive AVL tree with parent pointers (no allocation): the VMA tree and
// the page-cache index. Keys live in the containing object; callers descend
// with Root()/Left()/Right() and link new nodes with InsertAt().
//
// Concurrency: none inside; the owner serialises calls.
//
// Invariants (CheckInvariants): for every node n, n->height == 1 + max(height
// of children) (empty = 0), |height(left) - height(right)| <= 1, and each
// child's parent pointer is n; the root's parent is nullptr. So the height is
// at most 1.44 log2(n + 2) and every operation is O(log n).
#ifndef MM_VM_AVL_TREE_H_
#define MM_VM_AVL_TREE_H_

#include <cstddef>

namespace mm {

struct AvlNode {
  AvlNode* left = nullptr;
  AvlNode* right = nullptr;
  AvlNode* parent = nullptr;
  int height = 0;  // 0 while not in a tree
};

class AvlTree {
 public:
  AvlNode* root() const { return root_; }
  AvlNode** root_link() { return &root_; }
  bool empty() const { return root_ == nullptr; }
  size_t size() const { return size_; }

  // Augmentation: `fn` recomputes a node's subtree summary from its own data
  // and its children's summaries; it is called bottom-up on every node whose
  // subtree changed (rotations and the path to the root).
  using AugmentFn = void (*)(AvlNode* n);
  void set_augment(AugmentFn fn) { augment_ = fn; }
  // Recomputes the summaries from n up to the root (after n's own data changed).
  void Propagate(AvlNode* n) {
    for (; n != nullptr; n = n->parent) Update(n);
  }

  // Links `n` as the (empty) child `*link` of `parent` (nullptr for the root)
  // and rebalances.
  void InsertAt(AvlNode* n, AvlNode* parent, AvlNode** link);
  void Erase(AvlNode* n);

  AvlNode* First() const;
  AvlNode* Last() const;
  static AvlNode* Next(AvlNode* n);
  static AvlNode* Prev(AvlNode* n);

  // Checks the invariants above; returns the node count or -1.
  long CheckInvariants() const;

 private:
  static int H(const AvlNode* n) { return n == nullptr ? 0 : n->height; }
  void Update(AvlNode* n) {
    const int l = H(n->left), r = H(n->right);
    n->height = 1 + (l > r ? l : r);
    if (augment_ != nullptr) augment_(n);
  }
  void ReplaceChild(AvlNode* parent, AvlNode* old_child, AvlNode* new_child);
  AvlNode* RotateLeft(AvlNode* x);
  AvlNode* RotateRight(AvlNode* x);
  void Rebalance(AvlNode* n);

  AvlNode* root_ = nullptr;
  size_t size_ = 0;
  AugmentFn augment_ = nullptr;
};

}  // namespace mm

#endif  // MM_VM_AVL_TREE_H_
