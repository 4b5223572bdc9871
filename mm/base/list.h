// Intrusive circular doubly-linked list, Linux's list_head in C++ dress.
//
// Invariant: for every node n on a list, n->next->prev == n and n->prev->next == n;
// an empty list is a head whose next and prev point at itself. A node that is on no
// list has next == prev == nullptr after Remove() (so membership is testable).
#ifndef MM_BASE_LIST_H_
#define MM_BASE_LIST_H_

#include <cstddef>

namespace mm {

struct ListNode {
  ListNode* next = nullptr;
  ListNode* prev = nullptr;

  bool linked() const { return next != nullptr; }
};

class List {
 public:
  List() { Init(); }
  List(const List&) = delete;
  List& operator=(const List&) = delete;

  void Init() { head_.next = head_.prev = &head_; }
  bool empty() const { return head_.next == &head_; }
  ListNode* first() const { return empty() ? nullptr : head_.next; }
  ListNode* last() const { return empty() ? nullptr : head_.prev; }
  const ListNode* end() const { return &head_; }

  void PushFront(ListNode* n) { InsertBetween(n, &head_, head_.next); }
  void PushBack(ListNode* n) { InsertBetween(n, head_.prev, &head_); }

  static void Remove(ListNode* n) {
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n->prev = nullptr;
  }

  ListNode* PopFront() {
    if (empty()) return nullptr;
    ListNode* n = head_.next;
    Remove(n);
    return n;
  }
  ListNode* PopBack() {
    if (empty()) return nullptr;
    ListNode* n = head_.prev;
    Remove(n);
    return n;
  }

  // O(n): for invariant walks and /proc views only.
  size_t CountSlow() const {
    size_t n = 0;
    for (const ListNode* p = head_.next; p != &head_; p = p->next) ++n;
    return n;
  }

  // Checks the link invariant over the whole list; returns false on a broken link.
  bool LinksConsistent() const {
    const ListNode* p = &head_;
    do {
      if (p->next == nullptr || p->next->prev != p) return false;
      p = p->next;
    } while (p != &head_);
    return true;
  }

 private:
  static void InsertBetween(ListNode* n, ListNode* prev, ListNode* next) {
    n->prev = prev;
    n->next = next;
    prev->next = n;
    next->prev = n;
  }

  ListNode head_;
};

// container_of: the struct that holds `member` at `ptr`.
template <typename T, typename M>
T* ContainerOf(M* ptr, M T::*member) {
  const auto offset = reinterpret_cast<size_t>(&(static_cast<T*>(nullptr)->*member));
  return reinterpret_cast<T*>(reinterpret_cast<char*>(ptr) - offset);
}

}  // namespace mm

#endif  // MM_BASE_LIST_H_
