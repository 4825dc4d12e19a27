// C++ names in the analyzer's output: a leak from a method of a namespaced
// class (through operator new[]), a leak from a namespaced function, and a
// class template held by a namespaced global. Built with debug info and
// without (cpp_names_nodebug), where names come from the symbol table.
#include <cstdio>
#include <cstdlib>

namespace store {
namespace detail {
struct Pool {
    __attribute__((noinline)) char *grab(int n);
};

char *Pool::grab(int n)
{
    return new char[n]; /* GRAB-SITE */
}
}  // namespace detail

__attribute__((noinline)) void *raw_bytes(unsigned n)
{
    return std::malloc(n); /* RAW-SITE */
}

template <class T>
struct Box {
    virtual ~Box() {}
    T value{};
};

Box<int> *g_shelf[4];
}  // namespace store

int main()
{
    store::detail::Pool pool;
    char *volatile lost = pool.grab(40);
    lost = nullptr;
    (void)lost;
    void *volatile dropped = store::raw_bytes(24);
    dropped = nullptr;
    (void)dropped;
    store::g_shelf[2] = new store::Box<int>;
    std::puts("done");
    return 0;
}
