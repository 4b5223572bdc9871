#include "mm/vm/avl_tree.h"

#include "mm/base/panic.h"

namespace mm {

void AvlTree::ReplaceChild(AvlNode* parent, AvlNode* old_child, AvlNode* new_child) {
  if (parent == nullptr) {
    root_ = new_child;
  } else if (parent->left == old_child) {
    parent->left = new_child;
  } else {
    MM_DCHECK(parent->right == old_child);
    parent->right = new_child;
  }
  if (new_child != nullptr) new_child->parent = parent;
}

AvlNode* AvlTree::RotateLeft(AvlNode* x) {
  AvlNode* y = x->right;
  AvlNode* p = x->parent;
  x->right = y->left;
  if (y->left != nullptr) y->left->parent = x;
  ReplaceChild(p, x, y);
  y->left = x;
  x->parent = y;
  Update(x);
  Update(y);
  return y;
}

AvlNode* AvlTree::RotateRight(AvlNode* x) {
  AvlNode* y = x->left;
  AvlNode* p = x->parent;
  x->left = y->right;
  if (y->right != nullptr) y->right->parent = x;
  ReplaceChild(p, x, y);
  y->right = x;
  x->parent = y;
  Update(x);
  Update(y);
  return y;
}

void AvlTree::Rebalance(AvlNode* n) {
  while (n != nullptr) {
    Update(n);
    const int bf = H(n->left) - H(n->right);
    if (bf > 1) {
      if (H(n->left->left) < H(n->left->right)) RotateLeft(n->left);
      n = RotateRight(n);
    } else if (bf < -1) {
      if (H(n->right->right) < H(n->right->left)) RotateRight(n->right);
      n = RotateLeft(n);
    }
    n = n->parent;
  }
}

void AvlTree::InsertAt(AvlNode* n, AvlNode* parent, AvlNode** link) {
  MM_DCHECK(*link == nullptr);
  n->left = n->right = nullptr;
  n->parent = parent;
  n->height = 1;
  *link = n;
  ++size_;
  Rebalance(parent);
}

void AvlTree::Erase(AvlNode* n) {
  AvlNode* fix;
  if (n->left == nullptr || n->right == nullptr) {
    AvlNode* child = n->left != nullptr ? n->left : n->right;
    fix = n->parent;
    ReplaceChild(n->parent, n, child);
  } else {
    AvlNode* s = n->right;
    while (s->left != nullptr) s = s->left;
    if (s->parent != n) {
      fix = s->parent;
      fix->left = s->right;
      if (s->right != nullptr) s->right->parent = fix;
      s->right = n->right;
      n->right->parent = s;
    } else {
      fix = s;
    }
    s->left = n->left;
    n->left->parent = s;
    ReplaceChild(n->parent, n, s);
    s->height = n->height;
  }
  n->left = n->right = n->parent = nullptr;
  n->height = 0;
  --size_;
  Rebalance(fix);
}

AvlNode* AvlTree::First() const {
  AvlNode* n = root_;
  if (n == nullptr) return nullptr;
  while (n->left != nullptr) n = n->left;
  return n;
}

AvlNode* AvlTree::Last() const {
  AvlNode* n = root_;
  if (n == nullptr) return nullptr;
  while (n->right != nullptr) n = n->right;
  return n;
}

AvlNode* AvlTree::Next(AvlNode* n) {
  if (n->right != nullptr) {
    n = n->right;
    while (n->left != nullptr) n = n->left;
    return n;
  }
  while (n->parent != nullptr && n->parent->right == n) n = n->parent;
  return n->parent;
}

AvlNode* AvlTree::Prev(AvlNode* n) {
  if (n->left != nullptr) {
    n = n->left;
    while (n->right != nullptr) n = n->right;
    return n;
  }
  while (n->parent != nullptr && n->parent->left == n) n = n->parent;
  return n->parent;
}

namespace {
// Returns the subtree height, or -1 on a violation; counts nodes.
int CheckSubtree(const AvlNode* n, const AvlNode* parent, long* count) {
  if (n == nullptr) return 0;
  if (n->parent != parent) return -1;
  ++*count;
  const int l = CheckSubtree(n->left, n, count);
  const int r = CheckSubtree(n->right, n, count);
  if (l < 0 || r < 0) return -1;
  if (l - r > 1 || r - l > 1) return -1;
  const int h = 1 + (l > r ? l : r);
  return h == n->height ? h : -1;
}
}  // namespace

long AvlTree::CheckInvariants() const {
  long count = 0;
  if (CheckSubtree(root_, nullptr, &count) < 0) return -1;
  return count == static_cast<long>(size_) ? count : -1;
}

}  // namespace mm
