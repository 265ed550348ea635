// One eval of GradBench's `manual` tool (tools/manual/EVAL.cpp), behind
// C functions, so that the `side` binary can time it call by call beside
// backprop's tool in one process. build.rs compiles this file once per
// eval (feature `manual`), from the harness's GradBench checkout, with
//   -DEVAL=<eval> -DEVAL_CPP="<eval>.cpp"
//   -DFIRST=<function> -DFIRST_CLASS=<class> (and SECOND, SECOND_CLASS),
// `-O3 -march=native` and no OpenMP, as upstream's Makefile builds `manual`.
//
// Every eval's file defines `main` and classes with the same names
// (`Gradient`, `Jacobian`, …); they are renamed per eval here, so that
// the ten objects link into one binary without one eval's class standing
// in for another's.

#define CAT(a, b) a##b
#define XCAT(a, b) CAT(a, b)
#define STR(a) #a
#define XSTR(a) STR(a)

#define main XCAT(manual_main_, EVAL)
#define generic_main XCAT(manual_generic_main_, EVAL)
#define Gradient XCAT(Gradient_, EVAL)
#define Jacobian XCAT(Jacobian_, EVAL)
#define Dir XCAT(Dir_, EVAL)
#define num_threads XCAT(num_threads_, EVAL)
#define thread_num XCAT(thread_num_, EVAL)
#include EVAL_CPP
#undef main

#include <chrono>
#include <string>

namespace {

struct Runner {
  virtual ~Runner()    = default;
  virtual double run() = 0;
};

// As `function_main` does: the input decoded and the function constructed
// before timing; each run times `compute` alone.
template <typename B>
struct Run : Runner {
  typename B::Input  input;
  B                  function;
  typename B::Output output;
  explicit Run(const nlohmann::json& j)
      : input(j.template get<typename B::Input>()), function(input) {}
  double run() override {
    auto start = std::chrono::steady_clock::now();
    function.compute(output);
    auto finish = std::chrono::steady_clock::now();
    return std::chrono::duration<double>(finish - start).count();
  }
};

}  // namespace

// The eval's `function` at `input` (the JSON of an `evaluate` message's
// input), ready to run; null for another function name.
extern "C" void* XCAT(manual_new_, EVAL)(const char* function,
                                         const char* input) {
  auto        j = nlohmann::json::parse(input);
  std::string f(function);
  if (f == XSTR(FIRST)) return new Run<FIRST_CLASS>(j);
  if (f == XSTR(SECOND)) return new Run<SECOND_CLASS>(j);
  return nullptr;
}

// One call of the function; its seconds.
extern "C" double XCAT(manual_run_, EVAL)(void* runner) {
  return static_cast<Runner*>(runner)->run();
}

extern "C" void XCAT(manual_free_, EVAL)(void* runner) {
  delete static_cast<Runner*>(runner);
}
