"""Weak references (CONCEPTS.md, ideas 9 and 10). A weak reference to a node
returns it while a name holds it, and None once the last strong reference
goes: it kept nothing alive. heapscope never counts the weak reference as a
referrer, and finds the node freed. Then two small trees whose children
point at their parent: with strong parent pointers, dropping the root leaves
the tree alive in cycles (until a collection); with weak ones, everything is
freed at once."""
import gc
import json
import sys
import weakref

import heapscope


class Node:
    pass


class StrongNode:
    def __init__(self, parent):
        self.parent = parent
        self.children = []


class WeakNode:
    def __init__(self, parent):
        self.parent = weakref.ref(parent) if parent is not None else None
        self.children = []


def tree(cls):
    root = cls(None)
    for _ in range(3):
        root.children.append(cls(root))
    return root


gc.disable()
node = Node()
ref = weakref.ref(node)
facts = {"node": id(node), "ref": id(ref), "refcount": sys.getrefcount(node) - 1, "alive": ref() is node}
heapscope.snapshot("alive")
del node
facts["after_del"] = ref() is None
heapscope.snapshot("dropped")
strong, weak = tree(StrongNode), tree(WeakNode)
del strong, weak
heapscope.snapshot("trees")
facts["collected"] = gc.collect()
print(json.dumps(facts))
