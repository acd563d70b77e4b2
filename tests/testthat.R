# Tests run with at most 2 threads (CRAN's limit).
if (Sys.getenv("OMP_THREAD_LIMIT") == "") Sys.setenv(OMP_THREAD_LIMIT = "2")
library(testthat)
library(mxnet)
test_check("mxnet")
