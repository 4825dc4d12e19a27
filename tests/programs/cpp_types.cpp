// Unmodified C++ (no heapscope API): classes with virtual functions, so the
// tracer can name blocks by the vtable their first word points at.
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <unistd.h>

struct Shape {
    virtual ~Shape() {}
    virtual double area() const = 0;
};

struct Circle : Shape {
    double r = 1;
    double area() const override { return 3.14159 * r * r; }
};

namespace geo {
namespace flat {
struct Square : Shape {
    double side = 2;
    double area() const override { return side * side; }
};
}  // namespace flat
}  // namespace geo

struct Node {
    virtual ~Node() {}
    Node *peer = nullptr;
    long pad[3] = {};
};

Shape *g_kept[16];

__attribute__((noinline)) static void make_cycle()
{
    Node *a = new Node, *b = new Node;
    a->peer = b;
    b->peer = a;  // a cycle of two Nodes, then dropped: leaked
}

int main(int argc, char **argv)
{
    int circles = argc > 1 ? atoi(argv[1]) : 3;
    raise(SIGUSR2);  // a snapshot before: "signal-0"
    usleep(300000);
    for (int i = 0; i < circles; i++)
        g_kept[i] = new Circle;
    g_kept[10] = new geo::flat::Square;
    g_kept[11] = new geo::flat::Square;
    make_cycle();
    double total = 0;
    for (Shape *s : g_kept)
        if (s)
            total += s->area();
    std::printf("%.2f\n", total);
    return 0;
}
