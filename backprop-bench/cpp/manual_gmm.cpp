// GradBench's `manual` gmm (tools/manual/gmm_d.hpp, and the objective of
// cpp/gradbench/evals/gmm.hpp), behind C functions, so that the `gmm_side`
// binary can time it call by call beside the tool. Built by build.rs with
// the feature `manual`, from a GradBench checkout (GRADBENCH_DIR).
#include "gmm_d.hpp"

extern "C" double manual_gmm_jacobian(int d, int k, int n, const double* alpha,
                                      const double* mu, const double* q,
                                      const double* l, const double* x,
                                      double gamma, int m, double* alpha_d,
                                      double* mu_d, double* q_d, double* l_d) {
  gmm::Wishart wishart{gamma, m};
  double       err;
  gmm_objective_d(d, k, n, alpha, mu, q, l, x, wishart, &err, alpha_d, mu_d,
                  q_d, l_d);
  return err;
}

extern "C" double manual_gmm_objective(int d, int k, int n, const double* alpha,
                                       const double* mu, const double* q,
                                       const double* l, const double* x,
                                       double gamma, int m) {
  gmm::Wishart wishart{gamma, m};
  double       err;
  gmm::objective(d, k, n, alpha, mu, q, l, x, wishart, &err);
  return err;
}
