// The `side` binary's one entry into `manual`: each eval's functions of
// `manual_eval.cpp` (compiled once per eval), chosen by the eval's name.
// build.rs defines EVALS as X(llsq) X(lse) … for the evals it compiled.
#include <cstring>

#define X(eval)                                                          \
  extern "C" void*  manual_new_##eval(const char* function,              \
                                      const char* input);                \
  extern "C" double manual_run_##eval(void* runner);                     \
  extern "C" void   manual_free_##eval(void* runner);
EVALS
#undef X

namespace {
struct Handle {
  void* runner;
  double (*run)(void*);
  void (*free)(void*);
};
}  // namespace

// `function` of `eval` at `input` (an `evaluate` message's input, JSON),
// or null for an eval or a function `manual` does not have here.
extern "C" void* manual_new(const char* eval, const char* function,
                            const char* input) {
#define X(name)                                                          \
  if (std::strcmp(eval, #name) == 0) {                                   \
    void* runner = manual_new_##name(function, input);                   \
    if (runner == nullptr) return nullptr;                               \
    return new Handle{runner, manual_run_##name, manual_free_##name};    \
  }
  EVALS
#undef X
  return nullptr;
}

// One call of the function: its seconds, the compute alone.
extern "C" double manual_run(void* handle) {
  auto h = static_cast<Handle*>(handle);
  return h->run(h->runner);
}

extern "C" void manual_free(void* handle) {
  auto h = static_cast<Handle*>(handle);
  h->free(h->runner);
  delete h;
}
