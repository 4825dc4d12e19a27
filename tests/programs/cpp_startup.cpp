// Plain C++ with nothing unusual: its allocation totals must include what
// libstdc++ allocates in its own static initializer (the exception handling
// emergency pool), before any tracer constructor.
#include <cstdio>
#include <string>
#include <vector>

int main()
{
    std::vector<std::string> words;
    for (int i = 0; i < 5; i++)
        words.push_back(std::string(40 + i, 'a' + i));
    std::printf("%zu words\n", words.size());
    return 0;
}
