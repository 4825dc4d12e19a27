// Blocks that valgrind memcheck's default --leak-check-heuristics
// (stdstring, length64, newarray, multipleinheritance) call still reachable
// though the only pointer kept is into the middle of the block; std
// containers held by globals; and two genuine leaks. For the valgrind oracle
// (tests/integration/test_valgrind_oracle.py).
//
// Built with -D_GLIBCXX_USE_CXX11_ABI=0 (tests/CMakeLists.txt): the
// pre-C++11, copy-on-write std::string, whose object is one pointer 24 bytes
// into its heap block (length, capacity, refcount, then the characters).
// That is the layout valgrind's stdstring heuristic recognizes; a C++11
// std::string points at the start of its buffer and needs no heuristic.
//
// The containers are themselves heap blocks held by global pointers: a
// global std::string, vector or map object would be destroyed by the static
// destructors before either tool looks.
//
// What is left at exit, by design (SR still reachable, DL definitely lost,
// IL indirectly lost):
//   g_string   the 8-byte string object                      SR
//              its COW rep, 24 + 200 + 1 = 225 bytes          SR, stdstring
//   g_vector   the 24-byte vector object, 100 longs (800)     SR
//   g_map      the 48-byte map object, 4 nodes of 48 bytes    SR
//              4 COW reps of 24 + 40 + 1 = 65 bytes           SR, stdstring
//   g_newarray new D[5]: 8-byte count + 5 * 16 = 88 bytes,
//              kept 8 bytes in                                 SR, newarray
//   g_base2    new Derived seen as its Base2 (16 bytes in),
//              40 bytes                                        SR, multipleinheritance
//   g_length64 64 bytes whose first 8 hold 56, kept 8 bytes in SR, length64
//   a leaked new std::string: the 8-byte object               DL
//              and its rep, 24 + 100 + 1 = 125 bytes          IL
//   a leaked new D[3]: 8 + 3 * 16 = 56 bytes                  DL
// Totals: DL 64 bytes in 2 blocks, IL 125 in 1, PL 0, SR 1749 in 16 (of which
// via heuristic: stdstring 485 in 5, length64 64 in 1, newarray 88 in 1,
// multipleinheritance 40 in 1).
//
// No iostream or stdio (their buffers are freed by valgrind's
// __libc_freeres before it looks). After the blocks are made, the stack is
// overwritten so no pointer to a lost block is left in a stale slot.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#define NOINLINE __attribute__((noinline))

struct D {  // 16 bytes with a destructor: new D[n] keeps a count before the elements
    long a = 1, b = 2;
    ~D() { a = 0; }
};

struct Base1 {
    virtual ~Base1() {}
    virtual long one() const { return b1; }
    long b1 = 1;
};

struct Base2 {
    virtual ~Base2() {}
    virtual long two() const { return b2; }
    long b2 = 2;
};

struct Derived : Base1, Base2 {  // 40 bytes; its Base2 is 16 bytes in
    long d = 3;
};

std::string *g_string;
std::vector<long> *g_vector;
std::map<int, std::string> *g_map;
D *g_newarray;
Base2 *g_base2;
char *g_length64;

NOINLINE static void hold(void)
{
    g_string = new std::string(200, 's');
    g_vector = new std::vector<long>(100, 7);
    g_map = new std::map<int, std::string>;
    for (int i = 0; i < 4; i++)
        (*g_map)[i] = std::string(40, (char)('a' + i));
    g_newarray = new D[5];
    g_base2 = new Derived;
    char *b = (char *)calloc(1, 64);
    uint64_t len = 64 - 8;
    memcpy(b, &len, sizeof len);
    g_length64 = b + 8;
}

NOINLINE static void leak(void)
{
    std::string *volatile s = new std::string(100, 'l');
    D *volatile d = new D[3];
    (void)s;
    (void)d;
}

NOINLINE static void scrub_stack(void)
{
    volatile char buf[64 * 1024];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = 0;
}

int main()
{
    hold();
    leak();
    scrub_stack();
    return g_base2->two() == 2 && g_newarray[4].b == 2 ? 0 : 1;
}
